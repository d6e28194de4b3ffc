# ruff: noqa: F811 (the endpoint tests' fixtures are imported and used by name)
"""Genuine notifications Paydesk cannot apply: never a 500, the reason kept on the stored row,
and either kept for review (it will never fit) or left unclaimed for Amazon's next delivery."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from paydesk.amazonpay import inbox, services
from paydesk.amazonpay.models import AmazonPaySettings, Notification, PaymentEvent, Transaction, Verdict

from .conftest import SETTINGS_FORM
from .sns_factory import body_of, envelope, notification_data, sign
from .test_ipn_endpoint import CAP, capture_ipn, certs, post, store  # noqa: F401 (fixtures)


def signed_capture(certs, data: str) -> bytes:
    return body_of(sign(envelope("PaymentCapture", data, cert_url=certs["urls"]["good"]), certs["key"]))


def capture_data(**changes) -> str:
    fields = {"amazon_id": CAP, "reference_id": "1001-c1", "state": "Completed", **changes}
    return notification_data("PaymentCapture", **fields)


@pytest.mark.parametrize(
    "data",
    [
        capture_data(state="Open"),  # a state no capture has
        capture_data(updated="2026-02-30T10:00:00.000Z"),  # shaped like a moment, but no such day
    ],
    ids=["capture-open", "february-30"],
)
def test_notification_data_no_amazon_object_can_have_is_unreadable_not_a_500(client, store, certs, data):
    client.raise_request_exception = False
    response = post(client, signed_capture(certs, data))
    assert response.status_code == 400
    row = Notification.objects.get()
    assert row.verdict == Verdict.MALFORMED and row.reason == "malformed_notification_data"
    assert Transaction.objects.get(amazon_id=CAP).state == "Pending"


def test_a_verified_notification_paydesk_cannot_read_is_never_pruned(client, store, certs):
    post(client, signed_capture(certs, capture_data(state="Open")))
    later = timezone.now() + timedelta(days=400)
    assert inbox.prune_refused(older_than=timedelta(days=30), now=later) == 0
    assert Notification.objects.filter(reason="malformed_notification_data").exists()


def test_a_capture_in_another_currency_is_kept_for_review_and_changes_nothing(client, operator, store, certs):
    data = capture_data().replace("USD", "EUR")
    response = post(client, signed_capture(certs, data))
    assert response.status_code == 200  # it will never fit: not worth two weeks of redeliveries
    row = Notification.objects.get()
    assert row.verdict == Verdict.ACCEPTED and not row.applied and row.reason == "foreign_report"
    assert "EUR" in row.detail and row.message_id
    capture = Transaction.objects.get(amazon_id=CAP)
    assert capture.state == "Pending" and capture.currency == "USD"
    assert not PaymentEvent.objects.exists()
    # The order page still adds up.
    client.force_login(operator)
    assert client.get(f"/orders/{store['order'].number}/").status_code == 200


def test_an_unexpected_failure_while_applying_is_kept_and_redelivery_applies_it(
    client,
    store,
    certs,
    monkeypatch,
):
    client.raise_request_exception = False
    body = body_of(capture_ipn(certs))
    real = services.apply_report

    def broken(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(services, "apply_report", broken)
    response = post(client, body)
    assert response.status_code == 503  # Amazon delivers it again
    first = Notification.objects.get()
    assert first.verdict == Verdict.RETRY and first.reason == "apply_failed"
    assert "RuntimeError: disk on fire" in first.detail
    assert first.message_id is None and first.notification_type == "PaymentCapture"
    assert Transaction.objects.get(amazon_id=CAP).state == "Pending"

    monkeypatch.setattr(services, "apply_report", real)
    assert post(client, body).status_code == 200  # the same MessageId is free again
    assert Transaction.objects.get(amazon_id=CAP).state == "Completed"
    assert Notification.objects.filter(verdict=Verdict.ACCEPTED, applied=True).count() == 1


def test_requests_whose_certificate_could_not_be_fetched_are_pruned(client, store, certs):
    client.raise_request_exception = False
    forged = envelope(
        "PaymentCapture", capture_data(), cert_url=certs["server"].base + "/sandbox/sns/none.pem"
    )
    forged["Signature"] = "AAAA"
    assert post(client, body_of(forged)).status_code == 503
    assert Notification.objects.get().reason == "certificate_unavailable"
    later = timezone.now() + timedelta(days=31)
    assert inbox.prune_refused(older_than=timedelta(days=30), now=later) == 1
    assert not Notification.objects.exists()


def test_the_settings_refuse_a_sandbox_url_no_certificate_prefix_can_be_made_of(
    client, operator, store, certs
):
    client.force_login(operator)
    for url in ("http://user:pw@127.0.0.1:8001", "http://127.0.0.1:8001/?x=1"):
        form = {
            **SETTINGS_FORM,
            "environment": "offline_sandbox",
            "offline_sandbox_url": url,
            "secret_key": "x",
        }
        response = client.post("/amazonpay/settings/", form)
        assert response.status_code == 200 and "no user name, query or fragment" in response.content.decode()
    assert AmazonPaySettings.load().offline_sandbox_url == certs["server"].base


def test_a_sandbox_url_saved_before_the_form_refused_it_answers_503_not_500(client, store, certs):
    client.raise_request_exception = False
    settings = AmazonPaySettings.load()
    settings.offline_sandbox_url = certs["server"].base.replace("http://", "http://user:pw@")
    settings.save()
    assert post(client, body_of(capture_ipn(certs))).status_code == 503
    row = Notification.objects.get()
    assert row.verdict == Verdict.RETRY and row.reason == "not_configured"
