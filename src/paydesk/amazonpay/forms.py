from __future__ import annotations

import re

from django import forms

from paydesk.amazonpay.models import REFRESH_AFTER_MINUTES_MAX, AmazonPaySettings, Environment, Region

# Amazon's presentment currencies per region (docs/amazon-pay-v1.md §4): the US and JP
# accounts take one currency; UK and DE accounts also present in the multi-currency list.
_MULTI_CURRENCY = ("GBP", "EUR", "USD", "JPY", "AUD", "ZAR", "CHF", "NOK", "DKK", "SEK", "NZD", "HKD")
CURRENCIES_BY_REGION = {
    Region.NA: ("USD",),
    Region.JP: ("JPY",),
    Region.UK: _MULTI_CURRENCY,
    Region.EU: ("EUR", *[c for c in _MULTI_CURRENCY if c != "EUR"]),
}
_SELLER_ID = re.compile(r"^[A-Z0-9]{10,20}$")
_ACCESS_KEY = re.compile(r"^[A-Z0-9]{16,32}$")
# How long a pending payment waits before Refresh status is offered. The order pages and the
# API turn it into a timedelta and add it to the time: an unbounded number (the model field is a
# plain positive integer) overflowed that and broke every order page. A week is more patience
# than any pending payment deserves before staff may ask Amazon.
_REFRESH_AFTER_RANGE = (
    f"Enter a whole number of minutes between 0 and {REFRESH_AFTER_MINUTES_MAX} minutes (one week); "
    "0 offers Refresh status at once."
)


class AmazonPaySettingsForm(forms.ModelForm):
    secret_key = forms.CharField(
        label="MWS secret key",
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False, attrs={"autocomplete": "new-password"}),
        help_text="Write-only: it is never shown again. Leave empty to keep the saved key.",
    )
    currency = forms.ChoiceField(choices=[(c, c) for c in _MULTI_CURRENCY])
    offline_sandbox_url = forms.URLField(
        label="Offline sandbox URL",
        required=False,
        assume_scheme="http",
        help_text="Where `paydesk sandbox` listens, e.g. http://127.0.0.1:8001 (offline sandbox only).",
    )

    refresh_after_minutes = forms.IntegerField(
        label="Refresh after minutes",
        min_value=0,
        max_value=REFRESH_AFTER_MINUTES_MAX,
        error_messages={
            "invalid": _REFRESH_AFTER_RANGE,
            "min_value": _REFRESH_AFTER_RANGE,
            "max_value": _REFRESH_AFTER_RANGE,
        },
        help_text="Offer Refresh status for a pending payment after this many minutes "
        f"(0 to {REFRESH_AFTER_MINUTES_MAX}, one week).",
    )

    class Meta:
        model = AmazonPaySettings
        fields = [
            "environment",
            "offline_sandbox_url",
            "seller_id",
            "access_key",
            "region",
            "currency",
            "payment_mode",
            "authorization_mode",
            "ipn_topic_arn",
            "refresh_after_minutes",
        ]

    def clean_seller_id(self) -> str:
        value = self.cleaned_data["seller_id"].strip().upper()
        if value and not _SELLER_ID.match(value):
            raise forms.ValidationError(
                "A Seller ID is 10 to 20 capital letters and digits, e.g. A2K7NDRCTOTPW9."
            )
        return value

    def clean_access_key(self) -> str:
        value = self.cleaned_data["access_key"].strip()
        if value and not _ACCESS_KEY.match(value):
            raise forms.ValidationError("An MWS access key is 16 to 32 capital letters and digits.")
        return value

    def clean_offline_sandbox_url(self) -> str:
        value = self.cleaned_data["offline_sandbox_url"]
        if value:
            from paydesk.amazonpay.inbox import offline_sandbox_policy

            try:
                offline_sandbox_policy(value)
            except ValueError:
                raise forms.ValidationError(
                    "Give the sandbox's address only: scheme, host and port, e.g. http://127.0.0.1:8001 "
                    "(no user name, query or fragment)."
                ) from None
        return value

    def clean(self):
        data = super().clean()
        environment = data.get("environment")
        region = data.get("region")
        currency = data.get("currency")
        if region and currency and currency not in CURRENCIES_BY_REGION[Region(region)]:
            allowed = ", ".join(CURRENCIES_BY_REGION[Region(region)])
            self.add_error("currency", f"{Region(region).label} accounts take {allowed}.")
        if environment == Environment.OFFLINE_SANDBOX and not data.get("offline_sandbox_url"):
            self.add_error(
                "offline_sandbox_url", "The offline sandbox needs its URL, e.g. http://127.0.0.1:8001."
            )
        has_secret = bool(data.get("secret_key")) or self.instance.has_secret_key
        for name, label in (("seller_id", "Seller ID"), ("access_key", "MWS access key")):
            if not data.get(name):
                self.add_error(name, f"{label} is required.")
        if not has_secret:
            self.add_error("secret_key", "The MWS secret key is required.")
        return data

    def save(self, commit: bool = True) -> AmazonPaySettings:
        settings = super().save(commit=False)
        if self.cleaned_data.get("secret_key"):
            settings.secret_key = self.cleaned_data["secret_key"]
        if commit:
            settings.save()
        return settings
