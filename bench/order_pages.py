"""Benchmark 3: order list and order page latency with a million orders on PostgreSQL.

    .venv/bin/python bench/order_pages.py [--orders 1000000] [--requests 20] [--collation en-US|C]
                                          [--explain]

Starts a throwaway PostgreSQL server, creates the database with an ICU en-US collation (what a
production database usually has; `--collation C` for the server's default), migrates it, COPYs
the orders in (bench/bulk_orders.py), and then measures, through Django's whole stack in this
process (django.test.Client: middleware, session, permission checks, view, template; no socket),
the order list - the default page, deep keyset pages, each filter, each kind of search - and the
order page, each request with freshly drawn values. For comparison, Django admin's default
changelist on the same table (it COUNTs the table and pages with OFFSET).

It also shows that no order-list query counts the table or uses OFFSET, and the plan PostgreSQL
chose for each list query (EXPLAIN ANALYZE; `--explain` prints the full plans).

Targets (issue #7): p95 <= 50 ms for the list, <= 30 ms for the order page.
"""

from __future__ import annotations

import argparse
import random
import re
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import bulk_orders
import environment
import figures

LIST_TARGET = figures.Target(50, "ms", higher_is_better=False)
PAGE_TARGET = figures.Target(30, "ms", higher_is_better=False)
STATUSES = (
    "not_finished queued authorized partially_captured processed completed partially_refunded refunded "
    "declined failed canceled"
).split()


@dataclass(frozen=True)
class Scenario:
    label: str
    params: Callable[[random.Random], dict[str, str]]


class Samples:
    """Values to search and filter by, drawn from the generated orders."""

    def __init__(self, generator: bulk_orders.OrderGenerator) -> None:
        self.generator = generator
        self.count = generator.count

    def index(self, rng: random.Random) -> int:
        return rng.randint(1, self.count)

    def cursor(self, rng: random.Random) -> str:
        from types import SimpleNamespace

        from paydesk.orders.search import encode_cursor

        i = self.index(rng)
        return encode_cursor(SimpleNamespace(placed_at=self.generator.placed_at(i), pk=i))

    def day(self, rng: random.Random) -> datetime:
        return self.generator.placed_at(self.index(rng))

    def week(self, rng: random.Random) -> dict[str, str]:
        start = self.day(rng)
        return {"from": f"{start:%Y-%m-%d}", "to": f"{start + timedelta(days=6):%Y-%m-%d}"}

    def name(self, rng: random.Random) -> str:
        return bulk_orders.customer(self.index(rng))[0]

    def email(self, rng: random.Random) -> str:
        return bulk_orders.customer(self.index(rng))[1]


def scenarios(s: Samples) -> list[Scenario]:
    rare_name = "Zyxwv"  # matches nothing: the worst case for a substring search
    return [
        Scenario("default page", lambda r: {}),
        Scenario("older page (keyset, anywhere)", lambda r: {"after": s.cursor(r)}),
        Scenario("newer page (keyset, anywhere)", lambda r: {"before": s.cursor(r)}),
        *(Scenario(f"status={status}", lambda r, st=status: {"status": st}) for status in STATUSES),
        Scenario("one week", lambda r: s.week(r)),
        Scenario("one day", lambda r: {"from": f"{s.day(r):%Y-%m-%d}", "to": f"{s.day(r):%Y-%m-%d}"}),
        Scenario("status=declined + one week", lambda r: {"status": "declined", **s.week(r)}),
        Scenario("attention=late", lambda r: {"attention": "late"}),
        Scenario("attention=expiring", lambda r: {"attention": "expiring"}),
        Scenario("attention=declined", lambda r: {"attention": "declined"}),
        Scenario("search: order number", lambda r: {"q": "#" + bulk_orders.order_number(s.index(r))}),
        Scenario("search: number prefix", lambda r: {"q": bulk_orders.order_number(s.index(r))[:4]}),
        Scenario("search: e-mail", lambda r: {"q": s.email(r)}),
        Scenario("search: e-mail prefix", lambda r: {"q": s.email(r).split("@")[0] + "@"}),
        Scenario("search: Amazon reference", lambda r: {"q": bulk_orders.order_reference_id(s.index(r))}),
        Scenario("search: reference prefix", lambda r: {"q": bulk_orders.order_reference_id(s.index(r))[:8]}),
        Scenario("search: full name", lambda r: {"q": s.name(r)}),
        Scenario("search: last name", lambda r: {"q": s.name(r).split()[1]}),
        Scenario("search: name, no match", lambda r: {"q": rare_name}),
        Scenario("search: last name + status", lambda r: {"q": s.name(r).split()[1], "status": "refunded"}),
        Scenario("search: name + older page", lambda r: {"q": s.name(r).split()[1], "after": s.cursor(r)}),
    ]


def timed_get(client, url: str, params: dict[str, str]) -> float:
    started = time.perf_counter()
    response = client.get(url, params)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"GET {url} {params} answered HTTP {response.status_code}")
    return elapsed


def captured_sql(client, url: str, params: dict[str, str]) -> list[str]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as queries:
        client.get(url, params)
    return [q["sql"] for q in queries.captured_queries]


def _is_page_query(statement: str) -> bool:
    return statement.startswith("SELECT") and 'FROM "orders_order"' in statement and "LIMIT" in statement


def _page_query(sql: list[str]) -> str | None:
    return next((statement for statement in sql if _is_page_query(statement)), None)


def explain(statement: str) -> tuple[str, float, list[str]]:
    """(the scans PostgreSQL used, its execution time in ms, the full plan)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement)
        plan = [row[0] for row in cursor.fetchall()]
    scans = []
    for line in plan:
        found = re.search(
            r"((?:Parallel )?(?:Index Only Scan|Index Scan|Bitmap Index Scan|Seq Scan)"
            r"(?: Backward)?(?: using \w+)? on \w+)",
            line,
        )
        if found and found.group(1) not in scans:
            scans.append(found.group(1))
    executed = next(
        (float(m.group(1)) for line in plan if (m := re.search(r"Execution Time: ([\d.]+)", line))), 0.0
    )
    return "; ".join(scans) or "(no scan)", executed, plan


def staff_client():
    from django.contrib.auth.models import Permission, User
    from django.test import Client

    user = User.objects.create_user("bench-staff", password="bench-password-123", is_staff=True)
    for codename in ("view_order", "operate_payments"):
        user.user_permissions.add(Permission.objects.get(content_type__app_label="orders", codename=codename))
    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return client


def measure(args: argparse.Namespace) -> None:
    icu = None if args.collation == "C" else args.collation
    with environment.django_on("postgres", icu_locale=icu) as described:
        print(f"\n== Order list and order page on {described} ==", flush=True)
        started = time.perf_counter()
        generator = bulk_orders.OrderGenerator(args.orders, now=datetime.now(UTC), seed=args.seed)
        volume = bulk_orders.load(generator)
        took = time.perf_counter() - started
        rows = volume.orders + volume.lines + volume.payments + volume.transactions + volume.events
        print(
            f"  data: {volume.orders:,} orders, {volume.lines:,} order lines, {volume.payments:,} payments, "
            f"{volume.transactions:,} transactions, {volume.events:,} events ({rows:,} rows): generated, "
            f"COPYed, indexed and analyzed in {took:.0f} s",
            flush=True,
        )
        client = staff_client()
        samples = Samples(generator)
        rng = random.Random(args.seed)
        for params in ({}, {"q": "Smith"}):
            client.get("/orders/", params)  # warm: templates compiled, session and user cached

        print(
            "\n  queries of the order list (no COUNT of the table, no OFFSET; plan and time in PostgreSQL):"
        )
        violations = []
        for scenario in scenarios(samples):
            sql = captured_sql(client, "/orders/", scenario.params(rng))
            violations += [f"{scenario.label}: {s[:80]}" for s in sql if "COUNT(" in s or " OFFSET " in s]
            page_sql = _page_query(sql)
            if page_sql is None:
                violations.append(f"{scenario.label}: no page query found")
                continue
            scans, executed, plan = explain(page_sql)
            print(f"    {scenario.label:32} {executed:8.2f} ms  {scans}")
            if args.explain:
                print("\n".join("        " + line for line in plan))
        print(
            "    "
            + ("none counts or uses OFFSET" if not violations else "VIOLATIONS: " + "; ".join(violations))
        )

        print(f"\n  order list through Django, {args.requests} requests per row (new values each time):")
        pooled: list[float] = []
        for scenario in scenarios(samples):
            durations = [timed_get(client, "/orders/", scenario.params(rng)) for _ in range(args.requests)]
            pooled += durations
            print(figures.latency_line(f"{scenario.label:32}", durations))
        print(
            LIST_TARGET.line(
                "order list p95, all rows above", figures.milliseconds(figures.percentile(pooled, 0.95))
            )
        )

        pages = [
            timed_get(client, f"/orders/{bulk_orders.order_number(samples.index(rng))}/", {})
            for _ in range(args.requests * 10)
        ]
        print("\n  order page (a different random order each time):")
        print(figures.latency_line("GET /orders/<number>/", pages))
        print(PAGE_TARGET.line("order page p95", figures.milliseconds(figures.percentile(pages, 0.95))))
        sql = captured_sql(client, f"/orders/{bulk_orders.order_number(samples.index(rng))}/", {})
        print(f"    {len(sql)} queries per order page")

        if args.names:
            name_sweep(client, rng, args.names)

        print("\n  Django admin's default changelist on the same table (for comparison):")
        admin = "/django-admin/orders/order/"
        sql = captured_sql(client, admin, {})
        counts = sum("COUNT(" in s for s in sql)
        print(f"    {counts} COUNT queries per page; OFFSET on later pages")
        deep = str(max(1, args.orders // 100 // 2))  # 100 rows a page: the middle of the table
        for label, params in (("first page", {}), (f"page {deep} (OFFSET)", {"p": deep})):
            timed_get(client, admin, params)
            durations = [timed_get(client, admin, params) for _ in range(max(3, args.requests // 4))]
            print(figures.latency_line(f"admin changelist, {label:20}", durations))
            print(
                LIST_TARGET.line(
                    f"admin {label} p95", figures.milliseconds(figures.percentile(durations, 0.95))
                )
            )


def name_sweep(client, rng: random.Random, count: int) -> None:
    """Name searches one by one, in PostgreSQL alone: the planner's guesses, not Django, decide
    them, so the spread across names is the figure (every distinct full name among `count`
    random orders, and the surnames among them)."""
    full = sorted({bulk_orders.customer(rng.randrange(1, 1_000_000))[0] for _ in range(count)})
    surnames = sorted({name.split()[1] for name in full})
    for label, names in (("full names", full), ("surnames", surnames)):
        timed = []
        for name in names:
            statements = [s for s in captured_sql(client, "/orders/", {"q": name}) if _is_page_query(s)]
            plans = [explain(s) for s in statements]
            timed.append((sum(executed for _, executed, _ in plans), name, [scans for scans, _, _ in plans]))
        timed.sort()
        spent = [t for t, _, _ in timed]
        print(
            f"\n  {len(names)} {label}, first page, in PostgreSQL: median {spent[len(spent) // 2]:.1f} ms, "
            f"p95 {spent[int(len(spent) * 0.95)]:.1f} ms, worst {spent[-1]:.1f} ms"
        )
        for took, name, scans in timed[-3:]:
            print(f"    {took:8.1f} ms  {name}: " + " | ".join(scans))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=20, help="timed requests per scenario (default 20)")
    parser.add_argument(
        "--collation", default="en-US", help="ICU locale of the database, or C (default en-US)"
    )
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--explain", action="store_true", help="print every list query's full plan")
    parser.add_argument(
        "--names", type=int, default=0, help="also time the name searches of N random orders, one by one"
    )
    args = parser.parse_args(argv)
    print(figures.machine())
    measure(args)
    print("  noise: " + figures.busy_processes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
