"""NotificationData XML -> the same typed objects the client returns; anything else, one error."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from paydesk.amazonpay.details import Authorization, Capture, OrderReference, Refund
from paydesk.amazonpay.notifications import NotificationDataError, parse_notification_data

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "amazon"
SAMPLES = {
    "OrderReferenceNotification": ("NotificationData_OrderReferenceNotification.xml", OrderReference),
    "PaymentAuthorize": ("NotificationData_AuthorizationNotification.xml", Authorization),
    "PaymentCapture": ("NotificationData_CaptureNotification.xml", Capture),
    "PaymentRefund": ("NotificationData_RefundNotification.xml", Refund),
}


def sample(kind: str) -> str:
    return (FIXTURES / SAMPLES[kind][0]).read_text()


@pytest.mark.parametrize("kind", sorted(SAMPLES))
def test_amazons_samples_parse_into_the_clients_types(kind):
    parsed = parse_notification_data(kind, sample(kind))
    assert isinstance(parsed, SAMPLES[kind][1])
    assert parsed.status.state and parsed.request_id is None


def test_the_capture_sample_reads_amounts_as_money_and_ids_from_id_elements():
    capture = parse_notification_data("PaymentCapture", sample("PaymentCapture"))
    assert capture.capture_amount.currency == "USD" and capture.capture_amount.amount > 0
    assert capture.amazon_capture_id.rsplit("-", 1)[1].startswith("C")


def test_a_notification_holding_the_wrong_object_is_refused():
    with pytest.raises(NotificationDataError, match="holds <RefundNotification>, not <CaptureNotification>"):
        parse_notification_data("PaymentRefund", sample("PaymentCapture"))


def test_types_paydesk_does_not_apply_are_refused_by_name():
    with pytest.raises(NotificationDataError, match="does not apply"):
        parse_notification_data("BillingAgreementNotification", "<BillingAgreementNotification/>")


@pytest.mark.parametrize(
    "xml",
    [
        '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
        "<CaptureNotification>&x;</CaptureNotification>",
        '<!DOCTYPE l [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;&a;">]>'
        "<CaptureNotification>&b;</CaptureNotification>",
        "<CaptureNotification><CaptureDetails>",
        "",
    ],
)
def test_dtds_entities_and_broken_xml_are_refused(xml):
    with pytest.raises(NotificationDataError):
        parse_notification_data("PaymentCapture", xml)


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(SAMPLES)), data=st.data())
def test_mutated_samples_parse_or_raise_only_the_parsers_error(kind, data):
    text = sample(kind)
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, min(len(text), start + 40)))
    insert = data.draw(st.text(alphabet=st.sampled_from(list("<>/&;\"'=xA0.-Z ")), max_size=12))
    mutated = text[:start] + insert + text[end:]
    try:
        result = parse_notification_data(kind, mutated)
    except NotificationDataError:
        return
    assert isinstance(result, SAMPLES[kind][1])


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from([*sorted(SAMPLES), "Other"]), xml=st.text(max_size=300))
def test_arbitrary_text_parses_or_raises_only_the_parsers_error(kind, xml):
    try:
        parse_notification_data(kind, xml)
    except NotificationDataError:
        pass
