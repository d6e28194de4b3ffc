"""Every mapping from Amazon's states to the order statuses a merchant knows."""

import pytest

from paydesk.payments.status import OrderStatus, order_status

from .builders import auth, capture, payment, refund


@pytest.mark.parametrize(
    ("p", "expected"),
    [
        (payment(oro_state="Draft"), OrderStatus.NOT_FINISHED),
        (payment(oro_state="Open"), OrderStatus.QUEUED),
        (payment(auth("Pending")), OrderStatus.QUEUED),
        (payment(auth("Unknown")), OrderStatus.QUEUED),
        (payment(auth("Open")), OrderStatus.AUTHORIZED),
        (payment(auth("Closed", reason="MaxCapturesProcessed"), capture("Pending")), OrderStatus.QUEUED),
        (payment(auth("Closed", reason="MaxCapturesProcessed"), capture("Completed")), OrderStatus.PROCESSED),
        (
            payment(auth("Closed", reason="MaxCapturesProcessed"), capture("Completed"), fulfilled=True),
            OrderStatus.COMPLETED,
        ),
        (
            payment(auth("Closed", amount="60.00", reason="MaxCapturesProcessed"), capture(amount="60.00")),
            OrderStatus.PARTIALLY_CAPTURED,
        ),
        (payment(auth("Closed"), capture(), refund("Pending", "100.00")), OrderStatus.PROCESSED),
        (payment(auth("Closed"), capture(), refund("Completed", "40.00")), OrderStatus.PARTIALLY_REFUNDED),
        (payment(auth("Closed"), capture(), refund("Completed", "100.00")), OrderStatus.REFUNDED),
        (
            payment(
                auth("Closed"), capture(), refund("Completed", "60.00"), refund("Completed", "40.00", n=2)
            ),
            OrderStatus.REFUNDED,
        ),
        (payment(auth("Closed"), capture(), refund("Declined", "100.00")), OrderStatus.PROCESSED),
        (
            payment(auth("Declined", reason="InvalidPaymentMethod"), oro_state="Suspended"),
            OrderStatus.DECLINED,
        ),
        (payment(auth("Declined", reason="AmazonRejected"), oro_state="Closed"), OrderStatus.DECLINED),
        (payment(auth("Closed", reason="SellerClosed")), OrderStatus.CANCELED),
        (
            payment(auth("Closed", reason="OrderReferenceCanceled"), oro_state="Canceled"),
            OrderStatus.CANCELED,
        ),
        (payment(oro_state="Canceled"), OrderStatus.CANCELED),
        (payment(auth("Closed", reason="ExpiredUnused")), OrderStatus.FAILED),
        (payment(auth("Closed", reason="AmazonClosed")), OrderStatus.FAILED),
        # A request Amazon refused (Paydesk's "Failed") changes nothing.
        (payment(auth("Open"), capture("Failed")), OrderStatus.AUTHORIZED),
        # ...but when every authorization asked for failed, nothing is pending: the checkout's
        # payment was not collected, and the merchant must act (authorize again, or cancel).
        (payment(auth("Failed"), oro_state="Open"), OrderStatus.FAILED),
        (payment(auth("Open"), auth("Failed", n=2)), OrderStatus.AUTHORIZED),
        # A declined capture leaves the authorization open for another try.
        (payment(auth("Open"), capture("Declined")), OrderStatus.AUTHORIZED),
        # A second authorization after a declined one (split or retried payment).
        (payment(auth("Declined", reason="InvalidPaymentMethod"), auth("Open", n=2)), OrderStatus.AUTHORIZED),
    ],
)
def test_order_status_follows_amazons_states(p, expected):
    assert order_status(p) is expected


def test_every_status_has_a_label_and_a_meaning():
    for status in OrderStatus:
        assert status.label and status.meaning.endswith(".")
    assert OrderStatus.PROCESSED.label == "Processed"
