"""Benchmark 4: what a Capture costs beyond Amazon's own round trip.

    .venv/bin/python bench/capture_overhead.py [--db sqlite|postgres|both] [--captures N]

Against the offline sandbox running in this process (no throttling, no IPNs), the same kind of
capture is made two ways, alternately, each on its own Open authorization of the same amount:

- through Paydesk: `paydesk.amazonpay.services.capture` - lock the payment, check Amazon's
  rules, store the transaction and its reference id, call Amazon, lock again, apply the reply,
  log the event, update the order status - with the client Paydesk builds for the store
  (`connection.build_client`: shared quota buckets and metering; the buckets are made large
  enough never to run dry, so their bookkeeping is measured, waiting for Amazon's quota is not);
- bare: `AmazonPayClient.capture` alone - sign, POST, parse.

The difference of the two (p50 and p95) is Paydesk's overhead per capture. Then each
capture's SQL (recorded with its parameters and commits) is sent again through a raw cursor, on
a copy of the database from before the run, to show how much of that overhead the database's own
work is and how much is the ORM's and Paydesk's Python.

Target (issue #7): overhead <= 5 ms.
"""

from __future__ import annotations

import argparse
import sys
import time
from decimal import Decimal
from pathlib import Path

import environment
import figures

TARGET = figures.Target(5, "ms", higher_is_better=False)
AMOUNT = Decimal("42.00")


def start_sandbox():
    from paydesk.sandbox import IpnSettings, Sandbox, SandboxConfig

    return Sandbox(SandboxConfig(throttling=False, ipn=IpnSettings(enabled=False))).start()


def configure_store(sandbox):
    from paydesk.amazonpay.models import AmazonPaySettings, Environment
    from paydesk.sandbox import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_SELLER_ID

    settings = AmazonPaySettings.load()
    settings.environment = Environment.OFFLINE_SANDBOX
    settings.offline_sandbox_url = sandbox.url
    settings.seller_id = DEMO_SELLER_ID
    settings.access_key = DEMO_ACCESS_KEY
    settings.secret_key = DEMO_SECRET_KEY
    settings.payment_mode = "authorize_then_capture"
    settings.authorization_mode = "sync"
    settings.currency = "USD"
    settings.save()
    return settings


def paydesk_client(settings):
    """The client Paydesk builds for the store, its quota buckets too large to make anyone wait."""
    from django.db import connection

    from paydesk.amazonpay import connection as amazon_connection
    from paydesk.amazonpay.quota import LocalBuckets, PostgresBuckets, SharedQuota
    from paydesk.amazonpay.retry import SANDBOX_QUOTAS, Quota

    account = amazon_connection.quota_account(settings)
    store = PostgresBuckets(account) if connection.vendor == "postgresql" else LocalBuckets()
    roomy = {operation: Quota(1_000_000, 0.001) for operation in SANDBOX_QUOTAS}
    return amazon_connection.build_client(settings, rate_limiter=SharedQuota(store, roomy))


def bare_client(sandbox):
    from paydesk.amazonpay.client import AmazonPayClient
    from paydesk.sandbox import DEMO_ACCESS_KEY, DEMO_SECRET_KEY, DEMO_SELLER_ID

    return AmazonPayClient(
        seller_id=DEMO_SELLER_ID,
        access_key=DEMO_ACCESS_KEY,
        secret_key=DEMO_SECRET_KEY,
        base_url=sandbox.url,
    )


def open_authorizations(sandbox, count: int) -> list[tuple[int, str]]:
    """(payment id, Open authorization id) for `count` new orders, made by Paydesk's checkout."""
    from paydesk.amazonpay import services
    from paydesk.amazonpay.models import Transaction
    from paydesk.payments.money import Money

    made = []
    for n in range(count):
        oro = sandbox.create_order_reference(amount=str(AMOUNT), currency="USD")
        order, result = services.checkout(
            oro,
            lines=[services.CartLine(f"SKU-{n}", "Bench article", 1, Money(AMOUNT, "USD"))],
            shipping=Money(Decimal("0.00"), "USD"),
            customer_email=f"buyer{n}@example.com",
        )
        auth = Transaction.objects.get(payment__order=order, kind="authorization")
        if auth.state != "Open":
            raise SystemExit(f"checkout {n} left the authorization {auth.state}: {result.message}")
        made.append((auth.payment_id, auth.amazon_id))
    return made


def measure(database: str, captures: int) -> None:
    sandbox = start_sandbox()
    try:
        with environment.django_on(database) as described:
            from paydesk.amazonpay import services
            from paydesk.amazonpay.models import Transaction
            from paydesk.amazonpay.quota import close_thread_connections
            from paydesk.payments.money import Money

            print(f"\n== Capture overhead on {described}, sandbox in process ==", flush=True)
            settings = configure_store(sandbox)
            client = paydesk_client(settings)
            services.use_client_factory(lambda settings: client)
            bare = bare_client(sandbox)
            warmups = 3
            authorizations = open_authorizations(sandbox, 2 * (captures + warmups))
            # PostgreSQL copies a database only while nobody else uses it: the quota's own
            # connection is closed (it reopens on the next take).
            close_thread_connections()
            before = environment.copy_database()
            recorder = environment.StatementRecorder()
            actor = services.Actor(services.Source.STAFF, "bench")
            through, direct, parts = [], [], []
            for i in range(captures + warmups):
                payment_id, _ = authorizations[2 * i]
                _, authorization_id = authorizations[2 * i + 1]
                first = len(recorder.log)
                with recorder.recording():
                    started = time.perf_counter()
                    result = services.capture(payment_id, actor=actor)
                    took = time.perf_counter() - started
                if result.outcome != "done":
                    raise SystemExit(f"capture through Paydesk: {result.message}")
                parts.append(slice(first, len(recorder.log)))
                if i >= warmups:
                    through.append(took)
                started = time.perf_counter()
                reply = bare.capture(
                    authorization_id, capture_reference_id=f"bare-{i}", amount=Money(AMOUNT, "USD")
                )
                took = time.perf_counter() - started
                if reply.status.state != "Completed":
                    raise SystemExit(f"bare capture: {reply.status.state}")
                if i >= warmups:
                    direct.append(took)
            captured = Transaction.objects.filter(kind="capture", state="Completed").count()
            services.use_client_factory(None)
            client.close()
            bare.close()
            with environment.on_database(before):
                replayed = replay_captures(recorder, parts)[warmups:]
                replayed_count = Transaction.objects.filter(kind="capture", state="Completed").count()
            if replayed_count != captured:
                raise SystemExit(f"the replay left {replayed_count} captures Completed, the run {captured}")

            print(f"  {captures} captures each way, alternating; {captured} captures Completed in Paydesk")
            print(figures.latency_line("services.capture (Paydesk)", through))
            print(figures.latency_line("AmazonPayClient.capture (bare)", direct))
            for label, fraction in (("p50", 0.50), ("p95", 0.95)):
                overhead = figures.milliseconds(
                    figures.percentile(through, fraction) - figures.percentile(direct, fraction)
                )
                print(TARGET.line(f"overhead {label}", max(overhead, 0.001)))
            statements = sum(entry[0] == "sql" for entry in recorder.log[parts[-1]])
            print(f"    {statements} SQL statements per services.capture (BEGIN and COMMIT not counted)")
            print(
                figures.latency_line(
                    "the same SQL again through a raw cursor (no ORM, no Amazon; the database's share)",
                    replayed,
                )
            )
    finally:
        sandbox.stop()


def replay_captures(recorder, parts: list[slice]) -> list[float]:
    """Each capture's recorded statements sent again, on a copy of the database from before
    the run: how long the database and the driver take for a capture without the ORM. The
    quota's own statements (PostgreSQL: a connection of its own) are not in the recording."""
    took = []
    for part in parts:
        started = time.perf_counter()
        recorder.replay(recorder.log[part])
        took.append(time.perf_counter() - started)
    return took


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="both", help="sqlite, postgres or both (default)")
    parser.add_argument("--captures", type=int, default=200, help="captures each way (default 200)")
    args = parser.parse_args(argv)
    databases = environment.databases_from(args.db)
    if len(databases) > 1:
        print(figures.machine())
        return environment.run_per_database(Path(__file__), databases, ["--captures", str(args.captures)])
    measure(databases[0], args.captures)
    print("  noise: " + figures.busy_processes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
