"""Benchmark 2: the reconciler against Amazon's quotas - how close to the quota-bound maximum?

    .venv/bin/python bench/reconcile_throughput.py [--db sqlite|postgres] [--payments 10000]
                                                   [--workers 4]

Setup (not timed): the offline sandbox runs in this process, throttling off for now. For each
payment an order reference is confirmed and authorized asynchronously through Amazon's API
(Pending); Paydesk's database holds the order, the payment and the authorization as Pending with
its check due - and then the sandbox settles every authorization to Open with no IPN sent. So
each payment is stale: Paydesk says Pending, Amazon says Open.

Measured: one reconcile pass (`paydesk.amazonpay.reconcile.run_pass`, the code `paydesk
reconcile` and `paydesk serve` run) with the sandbox's throttling ON at Amazon's sandbox quotas,
through the client Paydesk builds for the store (shared quota buckets, background priority).

A stale payment with one Pending authorization needs two reads: GetOrderReferenceDetails and
GetAuthorizationDetails. Amazon's sandbox allows each a burst of 5, then one a second
(docs/amazon-pay-v1.md §5.3), so N payments need at least (N - 5) seconds however the work is
done: that is the quota-bound maximum throughput the measured one is compared with.

Targets (issue #7): throughput >= 0.95 of the quota-bound maximum; 0 throttled requests surfaced.
The pass is bounded: it stops by itself at twice the quota-bound time plus ten minutes.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import sys
import threading
import time
from datetime import timedelta
from decimal import Decimal

import environment
import figures

RATIO_TARGET = figures.Target(0.95, "x", higher_is_better=True)
AMOUNT = Decimal("25.00")
# The two reads a refresh needs for a payment with one unsettled authorization, and Amazon's
# sandbox quota for each (burst, seconds per restored request): §5.3, paydesk.amazonpay.retry.
NEEDED_READS = ("GetOrderReferenceDetails", "GetAuthorizationDetails")


def quota_bound_seconds(payments: int) -> float:
    from paydesk.amazonpay.retry import SANDBOX_QUOTAS

    return max(
        max(0, payments - SANDBOX_QUOTAS[op].max_requests) * SANDBOX_QUOTAS[op].restore_seconds
        for op in NEEDED_READS
    )


def start_sandbox():
    from paydesk.sandbox import IpnSettings, Sandbox, SandboxConfig

    return Sandbox(SandboxConfig(throttling=False, ipn=IpnSettings(enabled=False))).start()


def configure_store(sandbox) -> None:
    from paydesk.amazonpay.models import AmazonPaySettings, Environment
    from paydesk.sandbox import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_SELLER_ID

    settings = AmazonPaySettings.load()
    settings.environment = Environment.OFFLINE_SANDBOX
    settings.offline_sandbox_url = sandbox.url
    settings.seller_id = DEMO_SELLER_ID
    settings.access_key = DEMO_ACCESS_KEY
    settings.secret_key = DEMO_SECRET_KEY
    settings.authorization_mode = "async"
    settings.currency = "USD"
    settings.save()


def pending_authorizations(sandbox, count: int, threads: int) -> list[tuple[int, str, str]]:
    """(index, order reference id, authorization id) of `count` authorizations left Pending
    at Amazon, made through Amazon's API (throttling is off during setup)."""
    from paydesk.amazonpay.client import AmazonPayClient
    from paydesk.payments.money import Money
    from paydesk.sandbox import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_SELLER_ID

    local = threading.local()

    def client() -> AmazonPayClient:
        if not hasattr(local, "client"):
            local.client = AmazonPayClient(
                seller_id=DEMO_SELLER_ID,
                access_key=DEMO_ACCESS_KEY,
                secret_key=DEMO_SECRET_KEY,
                base_url=sandbox.url,
            )
        return local.client

    def make(i: int) -> tuple[int, str, str]:
        amazon = client()
        oro = sandbox.create_order_reference(amount=str(AMOUNT), currency="USD")
        amazon.set_order_reference_details(oro, amount=Money(AMOUNT, "USD"), seller_order_id=f"R{i}")
        amazon.confirm_order_reference(oro)
        auth = amazon.authorize(
            oro, authorization_reference_id=f"R{i}-a1", amount=Money(AMOUNT, "USD"), transaction_timeout=1440
        )
        if auth.status.state != "Pending":
            raise SystemExit(f"setup: an asynchronous authorization came back {auth.status.state}")
        return i, oro, auth.amazon_authorization_id

    with concurrent.futures.ThreadPoolExecutor(threads) as pool:
        return list(pool.map(make, range(1, count + 1)))


def record_in_paydesk(made: list[tuple[int, str, str]]) -> None:
    """Orders, payments and Pending authorizations, due for a check, as Paydesk has them when
    the IPNs that would have told it the authorizations opened were lost."""
    from django.db import transaction
    from django.utils import timezone

    from paydesk.amazonpay.models import Payment, Transaction
    from paydesk.orders.models import Order

    asked = timezone.now() - timedelta(hours=2)
    with transaction.atomic():
        orders = Order.objects.bulk_create(
            Order(
                number=f"R{i}",
                placed_at=asked,
                customer_name="Bench Buyer",
                customer_email=f"buyer{i}@example.com",
                currency="USD",
                subtotal=AMOUNT,
                total=AMOUNT,
                status="queued",
            )
            for i, _, _ in made
        )
        payments = Payment.objects.bulk_create(
            Payment(
                order=order,
                amazon_order_reference_id=oro,
                order_reference_state="Open",
                order_reference_updated=asked,
                order_total=AMOUNT,
                currency="USD",
                mode="authorize_then_capture",
                created_at=asked,
                next_check_at=asked + timedelta(hours=1),
                check_reason="pending_authorization",
            )
            for order, (_, oro, _) in zip(orders, made, strict=True)
        )
        Transaction.objects.bulk_create(
            Transaction(
                payment=payment,
                kind="authorization",
                reference_id=f"R{i}-a1",
                amazon_id=auth_id,
                amount=AMOUNT,
                currency="USD",
                state="Pending",
                amazon_updated_at=asked,
                requested_at=asked,
            )
            for payment, (i, _, auth_id) in zip(payments, made, strict=True)
        )


def measure(database: str, payments: int, workers: int, setup_threads: int) -> None:
    sandbox = start_sandbox()
    try:
        with environment.django_on(database) as described:
            from paydesk.amazonpay import quota, reconcile
            from paydesk.amazonpay.models import Transaction

            print(f"\n== Reconcile throughput on {described}, sandbox in process ==", flush=True)
            configure_store(sandbox)
            started = time.perf_counter()
            made = pending_authorizations(sandbox, payments, setup_threads)
            record_in_paydesk(made)
            sandbox.advance_clock("PT10M")  # Amazon decides: every authorization is Open now
            print(
                f"  setup: {payments:,} stale payments in {time.perf_counter() - started:.0f} s", flush=True
            )

            bound = quota_bound_seconds(payments)
            stop = threading.Event()
            deadline = threading.Timer(2 * bound + 600, stop.set)
            deadline.daemon = True
            reported = [0]

            def progress(report) -> None:
                if report.claimed >= reported[0] + max(1, payments // 10):
                    reported[0] = report.claimed
                    print(f"    ... {report.claimed:,} claimed, {report.failed} failed", flush=True)

            sandbox.set_throttling(True)  # Amazon's sandbox quotas from here on, buckets full
            before = quota.METER.reading()
            sent_before = quota.METER.per_operation("sent")
            deadline.start()
            report = reconcile.run_pass(batch=20, workers=workers, progress=progress, stop=stop)
            deadline.cancel()
            used = quota.METER.reading() - before
            sent = {op: n - sent_before.get(op, 0) for op, n in quota.METER.per_operation("sent").items()}

            opened = Transaction.objects.filter(kind="authorization", state="Open").count()
            rate = report.claimed / report.seconds
            best = payments / bound if bound else float("inf")
            print(
                f"  one pass, {reconcile.effective_workers(workers)} worker(s): {report.claimed:,} payments "
                f"in {report.seconds:,.0f} s = {rate:.3f} payments/s; {opened:,} authorizations now Open"
            )
            print(f"  quota-bound maximum: {payments:,} payments in {bound:,.0f} s = {best:.3f} payments/s")
            print(RATIO_TARGET.line("throughput / quota-bound maximum", rate / best))
            by_operation = ", ".join(f"{op} {n:,}" for op, n in sorted(sent.items()))
            print(
                f"  requests to Amazon: {used.sent:,} ({by_operation}); "
                f"waited for quota tokens {report.waited_seconds:,.0f} s"
            )
            print(
                f"  throttled: {report.throttled_surfaced} surfaced (target 0), "
                f"{report.throttled_retries} RequestThrottled replies retried by the client; "
                f"{report.failed} refreshes failed"
            )
            if stop.is_set():
                print("  STOPPED at the time limit: the pass did not finish")
    finally:
        sandbox.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="postgres", help="sqlite or postgres (default)")
    parser.add_argument("--payments", type=int, default=10_000, help="stale payments (default 10,000)")
    parser.add_argument("--workers", type=int, default=4, help="reconcile workers (PostgreSQL; default 4)")
    parser.add_argument("--setup-threads", type=int, default=4)
    args = parser.parse_args(argv)
    (database,) = environment.databases_from(args.db if args.db != "both" else "postgres")
    print(figures.machine())
    print(
        f"  the quota-bound pass alone takes {quota_bound_seconds(args.payments) / 60:,.0f} min "
        f"for {args.payments:,} payments",
        flush=True,
    )
    measure(database, args.payments, args.workers, args.setup_threads)
    print("  noise: " + figures.busy_processes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
