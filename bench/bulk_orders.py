"""A million orders in PostgreSQL in minutes: COPY from a generator, a chunk at a time.

Each order has its Amazon Pay payment, the authorizations, captures and refunds its status
implies, and one history event per transaction plus the checkout: the tables the order list and
the order page read, at the sizes a store with a million orders has. Orders are placed over two
years, newest last; most old orders are completed, recent ones are still authorized, pending or
recently declined, so every status filter and "needs attention" filter finds something.

Rows are written with the models' own column lists (`Model._meta.concrete_fields`); columns the
generator does not fill take the field's default, so a field added later does not break it.
Memory stays bounded: nothing holds more than one chunk of rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

FIRST_NAMES = (
    "Anna Ben Carla David Emma Felix Grace Henry Ines Jack Kara Liam Mia Noah Olga Paul Quinn Rosa "
    "Sam Tara Umar Vera Will Xena Yusuf Zoe Aiko Bruno Chloe Diego Elena Farid Greta Hugo Ivy Jonas "
    "Keiko Lars Maya Nils"
).split()
LAST_NAMES = (
    "Smith Jones Miller Garcia Brown Davis Wilson Moore Taylor Anderson Thomas Jackson White Harris "
    "Martin Thompson Young King Wright Lopez Hill Scott Green Adams Baker Nelson Carter Mitchell "
    "Perez Roberts Turner Phillips Campbell Parker Evans Edwards Collins Stewart Morris Rogers Reed "
    "Cook Morgan Bell Murphy Bailey Rivera Cooper Richardson Cox Howard Ward Torres Peterson Gray "
    "Ramirez James Watson Brooks Kelly Sanders Price Bennett Wood Barnes Ross Henderson Coleman "
    "Jenkins Perry Powell Long Patterson Hughes Flores Washington Butler Simmons Foster Gonzales "
    "Bryant Alexander Russell Griffin Diaz Hayes Myers Ford Hamilton Graham Sullivan Wallace Woods "
    "Cole West Jordan Owens Reynolds Fischer Weber Schneider Becker Hoffmann Schulz Koch Richter "
    "Klein Wolf Neumann Schwarz Zimmermann Braun Hofmann Hartmann Lange Schmitt Werner Krause Meier "
    "Lehmann Schmid Schulze Maier Kohler Herrmann Walter Mayer Huber Kaiser Fuchs Peters Lang Scholz "
    "Moller Weiss Jung Hahn Vogel Friedrich Keller Gunther Frank Berger Winkler Roth Beck Lorenz "
    "Baumann Franke Albrecht Schuster Simon Ludwig Bohm Winter Kraus Martin Schumacher Kramer Vogt "
    "Stein Jager Otto Sommer Gross Seidel Heinrich Brandt Haas Schreiber Graf Schulte Dietrich "
    "Ziegler Kuhn Pohl Engel Horn Busch Bergmann Thomas Voigt Sauer Arnold Wolff Pfeiffer"
).split()
DOMAINS = ("example.com", "example.org", "mail.example.net", "example.co.uk", "example.de")

# (status, share) for orders older than 30 days, and for the last 30 days.
OLD_STATUSES = (
    ("completed", 0.78),
    ("refunded", 0.04),
    ("partially_refunded", 0.03),
    ("canceled", 0.06),
    ("declined", 0.05),
    ("failed", 0.01),
    ("not_finished", 0.03),
)
RECENT_STATUSES = (
    ("authorized", 0.35),
    ("processed", 0.25),
    ("completed", 0.20),
    ("queued", 0.02),
    ("partially_captured", 0.02),
    ("declined", 0.06),
    ("canceled", 0.05),
    ("not_finished", 0.03),
    ("failed", 0.02),
)
CHUNK_ROWS = 5000


@dataclass(frozen=True)
class Volume:
    orders: int
    lines: int
    payments: int
    transactions: int
    events: int


def customer(i: int) -> tuple[str, str]:
    # A customer orders more than once: about 40,000 distinct name/e-mail pairs over 1M orders.
    person = (i * 2654435761) % 40_000
    first = FIRST_NAMES[person % len(FIRST_NAMES)]
    last = LAST_NAMES[(person // len(FIRST_NAMES)) % len(LAST_NAMES)]
    email = f"{first}.{last}{person % 97}@{DOMAINS[person % len(DOMAINS)]}".lower()
    return f"{first} {last}", email


def order_number(i: int) -> str:
    return str(100_000 + i)


def order_reference_id(i: int) -> str:
    # S01-NNNNNNN-NNNNNNN, unique (the second group is the order's index), prefixes spread out.
    return f"S01-{(i * 7_919_993 + 1_234_567) % 10_000_000:07d}-{i % 10_000_000:07d}"


def _pick(choices: tuple[tuple[str, float], ...], roll: float) -> str:
    for status, share in choices:
        if roll < share:
            return status
        roll -= share
    return choices[0][0]


class CopyWriter:
    """COPY rows of one model into its table, filling unset columns with the fields' defaults."""

    def __init__(self, cursor, model) -> None:
        self.cursor = cursor
        self.table = model._meta.db_table
        self.fields = [f for f in model._meta.concrete_fields]
        self.columns = [f.column for f in self.fields]
        self.defaults = {f.attname: _field_default(f) for f in self.fields}
        self.attnames = [f.attname for f in self.fields]

    def write(self, rows: Iterable[dict]) -> int:
        count = 0
        chunk: list[str] = []
        columns = ", ".join(f'"{c}"' for c in self.columns)
        with self.cursor.copy(f'COPY "{self.table}" ({columns}) FROM STDIN') as copy:
            for row in rows:
                values = (row[a] if a in row else self.defaults[a] for a in self.attnames)
                chunk.append("\t".join(_copy_text(v) for v in values))
                count += 1
                if len(chunk) >= CHUNK_ROWS:
                    copy.write("\n".join(chunk) + "\n")
                    chunk.clear()
            if chunk:
                copy.write("\n".join(chunk) + "\n")
        return count


def _field_default(field):
    if field.has_default():
        return field.get_default()
    if field.null:
        return None
    return None if field.primary_key else field.get_default()  # "" for text fields


def _copy_text(value) -> str:
    kind = type(value)
    if kind is str:
        if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
            return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
        return value
    if value is None:
        return "\\N"
    if kind is bool:
        return "t" if value else "f"
    if kind is datetime or kind is date:
        return value.isoformat()
    if kind is int or kind is Decimal:
        return str(value)
    if kind is dict or kind is list:
        return _copy_text(json.dumps(value))
    raise TypeError(f"no COPY text for {value!r}")


class OrderGenerator:
    """The rows of `count` orders, generated lazily and deterministically from `seed`."""

    def __init__(self, count: int, *, now: datetime, seed: int = 1) -> None:
        self.count = count
        self.now = now
        self.start = now - timedelta(days=730)
        self.step = timedelta(days=730) / max(count, 1)
        self.seed = seed

    def placed_at(self, i: int) -> datetime:
        return self.start + self.step * i

    def status(self, i: int) -> str:
        # A cheap, well-spread hash of (seed, i) in [0, 1): random.Random per order is too slow.
        roll = ((i * 2_246_822_519 + self.seed * 40_503) % 4_294_967_296) / 4_294_967_296
        recent = self.now - self.placed_at(i) <= timedelta(days=30)
        return _pick(RECENT_STATUSES if recent else OLD_STATUSES, roll)

    @staticmethod
    def total(i: int) -> Decimal:
        return Decimal(f"{10 + (i * 37) % 490}.{(i * 13) % 100:02d}")

    def orders(self) -> Iterator[dict]:
        for i in range(1, self.count + 1):
            name, email = customer(i)
            total = self.total(i)
            status = self.status(i)
            yield {
                "id": i,
                "number": order_number(i),
                "placed_at": self.placed_at(i),
                "customer_name": name,
                "customer_email": email,
                "currency": "USD",
                "subtotal": total,
                "shipping_cost": Decimal("0.00"),
                "tax": Decimal("0.00"),
                "total": total,
                "status": status,
                "payment_method": "amazon_pay",
                "fulfilled": status in ("completed", "refunded", "partially_refunded"),
                "shipping_name": name,
                "shipping_address": "123 Any Street\nSeattle, WA 98101\nUS",
            }

    def lines(self) -> Iterator[dict]:
        """One to three lines an order, adding up to its total."""
        next_id = 1
        for i in range(1, self.count + 1):
            total = self.total(i)
            count = 1 + i % 3
            price = (total / count).quantize(Decimal("0.01"))
            for k in range(count):
                yield {
                    "id": next_id,
                    "order_id": i,
                    "sku": f"SKU-{(i * 31 + k) % 5000:04d}",
                    "name": f"Article {(i * 31 + k) % 5000}",
                    "quantity": 1,
                    "unit_price": price if k < count - 1 else total - price * (count - 1),
                }
                next_id += 1

    def payments(self) -> Iterator[dict]:
        for i in range(1, self.count + 1):
            status = self.status(i)
            state, reason = {
                "not_finished": ("Draft", ""),
                "canceled": ("Canceled", "SellerCanceled"),
                "declined": ("Suspended", "InvalidPaymentMethod"),
                "failed": ("Closed", "AmazonClosed"),
            }.get(status, ("Open", ""))
            placed = self.placed_at(i)
            yield {
                "id": i,
                "order_id": i,
                "amazon_order_reference_id": order_reference_id(i),
                "order_reference_state": state,
                "order_reference_reason": reason,
                "order_reference_updated": placed,
                "order_total": self.total(i),
                "currency": "USD",
                "mode": "authorize_then_capture",
                "created_at": placed,
            }

    def transactions_of(self, i: int) -> list[dict]:
        """The authorization, capture and refund rows order `i`'s status implies."""
        status = self.status(i)
        if status == "not_finished":
            return []
        placed = self.placed_at(i)
        total = self.total(i)
        oro = order_reference_id(i)
        number = order_number(i)

        def row(kind, state, letter, amount=total, parent="", reason="", at=placed):
            return {
                "payment_id": i,
                "kind": kind,
                "reference_id": f"{number}-{letter[0].lower()}1",
                "amazon_id": f"{oro}-{letter}0000001"[: len(oro) + 9],
                "parent_amazon_id": parent,
                "amount": amount,
                "currency": "USD",
                "state": state,
                "reason_code": reason,
                "amazon_updated_at": at,
                "requested_at": at,
                "expires_at": placed + timedelta(days=30) if kind == "authorization" else None,
                "notified": True,
            }

        auth_id = f"{oro}-A000001"
        capture_id = f"{oro}-C000001"
        later = placed + timedelta(hours=20)
        if status == "queued":
            return [row("authorization", "Pending", "A")]
        if status == "authorized":
            return [row("authorization", "Open", "A")]
        if status in ("declined", "failed"):
            reason = "InvalidPaymentMethod" if status == "declined" else "AmazonRejected"
            return [row("authorization", "Declined", "A", reason=reason)]
        if status == "canceled":
            return [row("authorization", "Closed", "A", reason="SellerClosed", at=later)]
        captured = total if status != "partially_captured" else (total / 2).quantize(Decimal("0.01"))
        rows = [
            row("authorization", "Closed", "A", reason="MaxCapturesProcessed", at=later),
            row("capture", "Completed", "C", amount=captured, parent=auth_id, at=later),
        ]
        if status in ("refunded", "partially_refunded"):
            refunded = captured if status == "refunded" else (captured / 3).quantize(Decimal("0.01"))
            rows.append(
                row(
                    "refund",
                    "Completed",
                    "R",
                    amount=refunded,
                    parent=capture_id,
                    at=later + timedelta(days=3),
                )
            )
        return rows

    def transactions(self) -> Iterator[dict]:
        next_id = 1
        for i in range(1, self.count + 1):
            for txn in self.transactions_of(i):
                txn["id"] = next_id
                next_id += 1
                yield txn

    def events(self) -> Iterator[dict]:
        next_id = 1
        next_txn = 1
        for i in range(1, self.count + 1):
            placed = self.placed_at(i)
            yield {
                "id": next_id,
                "payment_id": i,
                "at": placed,
                "source": "checkout",
                "operation": "Checkout",
                "outcome": "info",
                "amount": self.total(i),
                "currency": "USD",
                "message": "Buyer chose Amazon Pay.",
            }
            next_id += 1
            for txn in self.transactions_of(i):
                operation = {"authorization": "Authorize", "capture": "Capture", "refund": "Refund"}
                yield {
                    "id": next_id,
                    "payment_id": i,
                    "transaction_id": next_txn,
                    "at": txn["requested_at"],
                    "source": "staff" if txn["kind"] != "authorization" else "checkout",
                    "actor": "olga" if txn["kind"] != "authorization" else "",
                    "operation": operation[txn["kind"]],
                    "reference_id": txn["reference_id"],
                    "amazon_id": txn["amazon_id"],
                    "amount": txn["amount"],
                    "currency": "USD",
                    "state": txn["state"],
                    "reason_code": txn["reason_code"],
                    "outcome": {"Declined": "declined", "Pending": "pending"}.get(txn["state"], "done"),
                }
                next_id += 1
                next_txn += 1


def load(generator: OrderGenerator) -> Volume:
    """COPY the generator's orders with everything that belongs to them; then VACUUM ANALYZE.

    Secondary indexes and foreign keys are dropped for the load and made again afterwards:
    building an index from all rows at once is many times faster than growing it row by row
    (PostgreSQL, "Populating a Database"), and the foreign keys are checked in one pass each.
    """
    from django.db import connection

    from paydesk.amazonpay.models import Payment, PaymentEvent, Transaction
    from paydesk.orders.models import Order, OrderLine

    models = (Order, OrderLine, Payment, Transaction, PaymentEvent)
    tables = [m._meta.db_table for m in models]
    # Django runs in autocommit here: each statement commits on its own, and VACUUM may run.
    with connection.cursor() as django_cursor:
        cursor = django_cursor.cursor  # psycopg's own cursor: COPY is not in Django's API
        rebuild = _drop_indexes_and_foreign_keys(cursor, tables)
        counts = {
            model: CopyWriter(cursor, model).write(rows)
            for model, rows in (
                (Order, generator.orders()),
                (OrderLine, generator.lines()),
                (Payment, generator.payments()),
                (Transaction, generator.transactions()),
                (PaymentEvent, generator.events()),
            )
        }
        cursor.execute("SET maintenance_work_mem = '256MB'")
        for statement in rebuild:
            cursor.execute(statement)
        for table in tables:
            # Explicit ids were copied in: move each id sequence past them.
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM \"{table}\"))"
            )
        cursor.execute("VACUUM ANALYZE")
    return Volume(
        orders=counts[Order],
        lines=counts[OrderLine],
        payments=counts[Payment],
        transactions=counts[Transaction],
        events=counts[PaymentEvent],
    )


def _drop_indexes_and_foreign_keys(cursor, tables: list[str]) -> list[str]:
    """Drop the tables' foreign keys, unique constraints and secondary indexes (not the primary
    keys); return the statements that make them again, in a workable order."""
    cursor.execute(
        "SELECT conrelid::regclass::text, conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = ANY(%s::regclass[]) AND contype IN ('f', 'u') ORDER BY contype",
        [tables],
    )
    constraints = cursor.fetchall()  # 'f' before 'u': foreign keys go first
    cursor.execute(
        "SELECT pg_get_indexdef(i.indexrelid), i.indexrelid::regclass::text FROM pg_index i "
        "WHERE i.indrelid = ANY(%s::regclass[]) AND NOT i.indisprimary "
        "AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = i.indexrelid)",
        [tables],
    )
    indexes = cursor.fetchall()
    for table, name, _, _ in constraints:
        cursor.execute(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"')
    for _, name in indexes:
        cursor.execute(f"DROP INDEX {name}")
    unique = [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, kind, d in constraints if kind == "u"]
    foreign = [f'ALTER TABLE {t} ADD CONSTRAINT "{n}" {d}' for t, n, kind, d in constraints if kind == "f"]
    return [definition for definition, _ in indexes] + unique + foreign
