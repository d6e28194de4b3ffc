"""Payments recorded before the reconciler existed get one check when the migration adds it."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor


@pytest.fixture
def schema(transactional_db):
    """`schema(name)` migrates the database to amazonpay's migration `name` and returns the
    models as they were then; the latest schema is restored at the end."""

    def at(name: str):
        target = [("amazonpay", name)]
        executor = MigrationExecutor(connection)
        executor.migrate(target)
        return executor.loader.project_state(target).apps

    yield at
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


def _payment(apps, number: str, *states: str):
    order = apps.get_model("orders", "Order").objects.create(
        number=number,
        customer_name="Jane Buyer",
        customer_email="jane@example.com",
        currency="USD",
        subtotal=Decimal("10.00"),
        total=Decimal("10.00"),
    )
    payment = apps.get_model("amazonpay", "Payment").objects.create(
        order=order,
        amazon_order_reference_id=f"S01-0000000-000{number}",
        order_total=Decimal("10.00"),
        currency="USD",
        mode="authorize_then_capture",
    )
    for n, state in enumerate(states):
        payment.transactions.create(
            kind="authorization",
            reference_id=f"{number}-a{n}",
            amount=Decimal("10.00"),
            currency="USD",
            state=state,
        )
    return payment.pk


def test_payments_with_anything_unsettled_are_checked_once_after_the_migration(schema):
    apps = schema("0001_initial")
    unsettled = [_payment(apps, "1001", "Open"), _payment(apps, "1002", "Declined", "Pending")]
    unknown = _payment(apps, "1003", "Unknown")
    settled = _payment(apps, "1004", "Closed")

    Payment = schema("0002_reconciler_schedule_and_quota_buckets").get_model("amazonpay", "Payment")

    due = set(Payment.objects.filter(next_check_at__isnull=False).values_list("pk", flat=True))
    assert due == {*unsettled, unknown}
    assert set(Payment.objects.filter(pk__in=due).values_list("check_reason", flat=True)) == {"requested"}
    assert Payment.objects.get(pk=settled).next_check_at is None


def test_payments_with_captures_or_refunds_an_ipn_left_unlinked_are_checked_after_0004(schema):
    apps = schema("0003_attention_indexes")
    unlinked, linked = _payment(apps, "2001", "Closed"), _payment(apps, "2002", "Closed")
    Transaction = apps.get_model("amazonpay", "Transaction")
    for pk, parent in ((unlinked, ""), (linked, "S01-0000000-0002002-A000001")):
        Transaction.objects.create(
            payment_id=pk,
            kind="refund",
            reference_id=f"r-{pk}",
            amount=Decimal("1.00"),
            currency="USD",
            state="Completed",
            parent_amazon_id=parent,
        )
    Payment = schema("0004_check_reason_unlinked").get_model("amazonpay", "Payment")
    assert Payment.objects.get(pk=unlinked).check_reason == "unlinked"
    assert Payment.objects.get(pk=unlinked).next_check_at is not None
    assert Payment.objects.get(pk=linked).next_check_at is None


def test_payments_with_a_capture_amazon_made_but_never_read_are_checked_after_0006(schema):
    apps = schema("0005_reconciler_lease")
    Transaction = apps.get_model("amazonpay", "Transaction")
    missing, held = _payment(apps, "3001"), _payment(apps, "3002")
    for pk in (missing, held):
        Transaction.objects.create(
            payment_id=pk,
            kind="authorization",
            reference_id=f"a-{pk}",
            amazon_id=f"S01-0000000-000300{pk}-A000001",
            amount=Decimal("10.00"),
            currency="USD",
            state="Closed",
            reason_code="MaxCapturesProcessed",
            capture_now=True,
        )
    Transaction.objects.create(
        payment_id=held,
        kind="capture",
        reference_id=f"a-{held}",
        amazon_id=f"S01-0000000-000300{held}-C000001",
        amount=Decimal("10.00"),
        currency="USD",
        state="Completed",
        parent_amazon_id=f"S01-0000000-000300{held}-A000001",
    )
    never = _payment(apps, "3003", "Failed")
    apps.get_model("amazonpay", "Payment").objects.filter(pk=never).update(order_reference_state="Open")
    Payment = schema("0006_check_reason_capture_not_held").get_model("amazonpay", "Payment")
    assert Payment.objects.get(pk=missing).check_reason == "capture_not_held"
    assert Payment.objects.get(pk=missing).next_check_at is not None
    assert Payment.objects.get(pk=held).next_check_at is None
    # Every authorization failed: shown Queued by older releases, checked once now.
    assert Payment.objects.get(pk=never).check_reason == "requested"
