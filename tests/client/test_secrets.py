"""The secret key never reaches logs, reprs, exception text or tracebacks - not even with locals."""

from __future__ import annotations

import logging
import traceback
from decimal import Decimal

import httpx
import pytest

from paydesk.amazonpay.client import AmazonPayClient
from paydesk.amazonpay.errors import AmazonPayError
from paydesk.amazonpay.retry import RetryPolicy
from paydesk.payments.money import Money
from tests.client.fake_amazon import SECRET, FakeAmazon

SIGNATURE_MISMATCH = b"""<ErrorResponse xmlns="http://mws.amazonservices.com/schema/OffAmazonPayments/2013-01-01">
<Error><Type>Sender</Type><Code>SignatureDoesNotMatch</Code><Message>The request signature we calculated does
not match the signature you provided.</Message></Error><RequestID>5e2a</RequestID></ErrorResponse>"""


class Everything(logging.Handler):
    """Collects every record of every logger, formatted with its exception text."""

    def __init__(self):
        super().__init__(level=logging.DEBUG)
        self.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s %(amazonpay_outcome)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.name == "__amazon_pay_sdk__":
            return  # Amazon's SDK checking signatures inside FakeAmazon, not Paydesk's client
        if not hasattr(record, "amazonpay_outcome"):
            record.amazonpay_outcome = ""
        self.lines.append(self.format(record) + repr(record.__dict__))


@pytest.fixture
def all_logs():
    handler = Everything()
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        root.removeHandler(handler)
        root.setLevel(old_level)


def full_traceback(exc: BaseException) -> str:
    """The traceback as the most talkative error reporters show it: with every frame's locals."""
    return "".join(traceback.TracebackException.from_exception(exc, capture_locals=True).format())


def test_the_secret_key_and_signatures_appear_in_no_log_exception_or_traceback(all_logs):
    amazon = (
        FakeAmazon()
        .reply(200, "GetOrderReferenceDetailsResponse.xml")
        .reply(503, "ErrorResponse_RequestThrottled.xml")
        .reply(200, "AuthorizeResponse_Pending.xml")
        .reply(403, SIGNATURE_MISMATCH)
        .fail(httpx.ReadTimeout)
        .fail(httpx.ReadTimeout)
        .reply(200, b"<not-xml")
    )
    client = AmazonPayClient(
        seller_id="A2EXAMPLE",
        access_key="AKIAEXAMPLE",
        secret_key=SECRET,
        retry=RetryPolicy(max_attempts=2, base_delay=0, max_delay=0),
        transport=amazon.transport(),
    )
    texts = [repr(client), str(vars(client)) if hasattr(client, "__dict__") else ""]
    client.get_order_reference_details("S01-9111020-6707923", access_token="Atza|x")
    client.authorize("S01-1-1", authorization_reference_id="a1", amount=Money(Decimal("1"), "USD"))
    failures: list[AmazonPayError] = []
    for call in (
        lambda: client.get_capture_details("S01-1-1-C1"),  # SignatureDoesNotMatch
        lambda: client.capture("S01-1-1-A1", capture_reference_id="c1", amount=Money(Decimal("1"), "USD")),
        lambda: client.refund("S01-1-1-C1", refund_reference_id="r1", amount=Money(Decimal("1"), "USD")),
        lambda: client.refund("S01-1-1-C1", refund_reference_id="bad id", amount=Money(Decimal("1"), "USD")),
    ):
        with pytest.raises(AmazonPayError) as caught:
            call()
        failures.append(caught.value)
    assert [type(f).__name__ for f in failures] == [
        "SignatureMismatch",
        "OutcomeUnknown",
        "OutcomeUnknown",
        "InvalidRequest",
    ]

    for failure in failures:
        texts += [str(failure), repr(failure), full_traceback(failure)]
    logged = "\n".join(all_logs.lines)
    everything = "\n".join([*texts, logged])
    assert "Capture" in logged and "SignatureDoesNotMatch" in logged  # the logs did record the calls
    assert SECRET not in everything
    assert SECRET[:12] not in everything
    # Signatures are not secrets (each signs one request), but they stay out of logs too.
    # (A traceback with locals may show one in a transport's frames; it never shows the key.)
    signatures = [seen.fields["Signature"] for seen in amazon.seen]
    assert len(signatures) == 7
    for signature in signatures:
        assert signature not in logged


def test_a_client_that_fails_to_build_does_not_show_the_key_in_its_traceback():
    with pytest.raises(ValueError) as caught:
        AmazonPayClient(seller_id="A2EXAMPLE", access_key="AKIAEXAMPLE", secret_key=SECRET, region="mars")
    assert SECRET not in full_traceback(caught.value)
