"""Benchmark 1: IPN ingestion - verified, stored and applied notifications per second per core.

    .venv/bin/python bench/ipn_ingestion.py [--db sqlite|postgres|both] [--payments N] [--no-sdk]

One process, one thread feeds a stream of SNS-signed Amazon Pay notifications to the IPN inbox
(`paydesk.amazonpay.inbox.receive`: store raw, verify, deduplicate, apply) for payments that
exist in the database, then the same kind of stream through Django's whole request stack (the
test client POSTing to /amazonpay/ipn/: middleware, view, JSON answer; no socket). The stream is
what a store sees: notifications of many payments interleaved, about 5% SNS redeliveries (same
MessageId) and late, older notifications that must not move a payment backwards.

Then the first run's work again without Django's ORM, to measure how much of the time is the
ORM's: on a copy of the database as it was before that run, each delivery is verified and parsed
the same way and exactly the SQL the inbox sent for it (recorded with its parameters, commits and
rollbacks) is sent again through a raw cursor. Both runs must leave the same outcome.

Then verification alone on the same messages: ours (`paydesk.amazonpay.sns`, certificate cached)
against Amazon's SDK (`amazon_pay.ipn_handler.IpnHandler` 2.7.1), which runs in its own
virtualenv `bench/.venv-sdk` (created on first use: it needs pyOpenSSL<24.3, which our
cryptography version excludes) and fetches the certificate from 127.0.0.1 for every message, as
it does in production.

Target (issue #7): >= 1,000 notifications/s per core on SQLite and on PostgreSQL.
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import json
import random
import subprocess
import sys
import tempfile
import threading
import time
import uuid
import venv
from dataclasses import dataclass
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import environment
import figures
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

HERE = Path(__file__).resolve().parent
SDK_VENV = HERE / ".venv-sdk"
SDK_SCRIPT = HERE / "sdk_ipn_verify.py"
# The SDK pins nothing; its IPN check calls OpenSSL.crypto.verify, removed in pyOpenSSL 24.3
# (docs/amazon-pay-v1.md §8.6), and pyOpenSSL 24.2 accepts cryptography < 44.
SDK_REQUIREMENTS = ("amazon-pay==2.7.1", "pyOpenSSL<24.3", "cryptography<44")

TARGET = figures.Target(1000, "notifications/s", higher_is_better=True)
SELLER_ID = "A2PAYDESKBENCH1"
NS = "https://mws.amazonservices.com/ipn/OffAmazonPayments/2013-01-01"
PEM_PATH = "/sandbox/sns/SimpleNotificationService-bench.pem"


# --- the signing certificate, served on 127.0.0.1 ------------------------------------------------


class CertificateServer:
    """An SNS-like signing key and its certificate (issued for sns.amazonaws.com, as SNS's is),
    the certificate served over HTTP on 127.0.0.1."""

    def __init__(self) -> None:
        self.key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        now = dt.datetime.now(dt.UTC)
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
        certificate = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=30))
            .sign(self.key, hashes.SHA256())
        )
        pem = certificate.public_bytes(serialization.Encoding.PEM)

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                found = self.path == PEM_PATH
                self.send_response(200 if found else 404)
                self.send_header("Content-Length", str(len(pem) if found else 0))
                self.end_headers()
                if found:
                    self.wfile.write(pem)

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self._server.server_address[1]}"
        self.url = self.base + PEM_PATH
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


# --- the notifications ---------------------------------------------------------------------------


def topic_arn() -> str:
    # Amazon Pay's US topics: arn:aws:sns:us-east-1:291180941288:<marketplace><seller> (§7.1).
    return f"arn:aws:sns:us-east-1:291180941288:A3BXB0YN3XH17H{SELLER_ID}"


def _amount(tag: str, value: str) -> str:
    return f"<{tag}><Amount>{value}</Amount><CurrencyCode>USD</CurrencyCode></{tag}>"


def _status(tag: str, state: str, at: str, reason: str = "") -> str:
    reason_xml = f"<ReasonCode>{reason}</ReasonCode>" if reason else ""
    return f"<{tag}><State>{state}</State><LastUpdateTimestamp>{at}</LastUpdateTimestamp>{reason_xml}</{tag}>"


# Shapes as in Amazon's published NotificationData samples (tests/fixtures/amazon/NotificationData_*).
def authorization_xml(p: PaymentPlan, state: str, at: str, reason: str = "") -> str:
    captured = p.amount if state == "Closed" else "0.00"
    ids = f"<IdList><Id>{p.capture_id}</Id></IdList>" if state == "Closed" else "<IdList/>"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><AuthorizationNotification xmlns="{NS}">'
        "<AuthorizationDetails>"
        f"<AmazonAuthorizationId>{p.authorization_id}</AmazonAuthorizationId>"
        f"<AuthorizationReferenceId>{p.number}-a1</AuthorizationReferenceId>"
        f"{_amount('AuthorizationAmount', p.amount)}{_amount('CapturedAmount', captured)}"
        f"{_amount('AuthorizationFee', '0.00')}{ids}"
        f"<CreationTimestamp>{p.created}</CreationTimestamp>"
        f"<ExpirationTimestamp>{p.expires}</ExpirationTimestamp>"
        f"{_status('AuthorizationStatus', state, at, reason)}"
        "<OrderItemCategories/><CaptureNow>false</CaptureNow><SoftDescriptor>AMZ*Paydesk</SoftDescriptor>"
        "</AuthorizationDetails></AuthorizationNotification>"
    )


def capture_xml(p: PaymentPlan, state: str, at: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><CaptureNotification xmlns="{NS}"><CaptureDetails>'
        f"<AmazonCaptureId>{p.capture_id}</AmazonCaptureId>"
        f"<CaptureReferenceId>{p.number}-c1</CaptureReferenceId>"
        f"{_amount('CaptureAmount', p.amount)}{_amount('RefundedAmount', '0.00')}"
        f"{_amount('CaptureFee', '0.00')}<IdList/>"
        f"<CreationTimestamp>{p.created}</CreationTimestamp>"
        f"{_status('CaptureStatus', state, at)}<SoftDescriptor>AMZ*Paydesk</SoftDescriptor>"
        "</CaptureDetails></CaptureNotification>"
    )


def refund_xml(p: PaymentPlan, state: str, at: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><RefundNotification xmlns="{NS}"><RefundDetails>'
        f"<AmazonRefundId>{p.refund_id}</AmazonRefundId>"
        f"<RefundReferenceId>{p.number}-r1</RefundReferenceId><RefundType>SellerInitiated</RefundType>"
        f"{_amount('RefundAmount', p.amount)}{_amount('FeeRefunded', '0.00')}"
        f"<CreationTimestamp>{p.created}</CreationTimestamp>"
        f"{_status('RefundStatus', state, at)}<SoftDescriptor>AMZ*Paydesk</SoftDescriptor>"
        "</RefundDetails></RefundNotification>"
    )


def order_reference_xml(p: PaymentPlan, state: str, at: str) -> str:
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><OrderReferenceNotification xmlns="{NS}"><OrderReference>'
        f"<AmazonOrderReferenceId>{p.order_reference_id}</AmazonOrderReferenceId>"
        f"{_amount('OrderTotal', p.amount)}"
        f"<SellerOrderAttributes><SellerId>{SELLER_ID}</SellerId><SellerOrderId>{p.number}</SellerOrderId>"
        "<OrderItemCategories/></SellerOrderAttributes>"
        f"{_status('OrderReferenceStatus', state, at)}"
        f"<CreationTimestamp>{p.created}</CreationTimestamp><ExpirationTimestamp>{p.expires}</ExpirationTimestamp>"
        "</OrderReference></OrderReferenceNotification>"
    )


@dataclass(frozen=True)
class PaymentPlan:
    """One payment as the database holds it before the notifications arrive, and its story.

    `story` "authorizing": an asynchronous authorization is Pending; Amazon reports the order
    reference (already Open: nothing new) and the authorization Open.
    "capturing": the capture is Pending; Amazon reports it Completed and the authorization
    Closed (MaxCapturesProcessed); for some, the authorization's older Open notification arrives
    last and must be ignored.
    "refunding": the refund is Pending; Amazon reports it Completed.
    """

    index: int
    story: str
    late_open: bool = False

    @property
    def number(self) -> str:
        return f"B{self.index:07d}"

    @property
    def order_reference_id(self) -> str:
        return f"S01-{self.index:07d}-{(self.index * 7919) % 10_000_000:07d}"

    @property
    def authorization_id(self) -> str:
        return f"{self.order_reference_id}-A000001"

    @property
    def capture_id(self) -> str:
        return f"{self.order_reference_id}-C000001"

    @property
    def refund_id(self) -> str:
        return f"{self.order_reference_id}-R000001"

    @property
    def amount(self) -> str:
        return f"{10 + self.index % 490}.{self.index % 100:02d}"

    created = "2026-11-20T10:00:00.000Z"
    expires = "2026-12-20T10:00:00.000Z"


STORIES = ("authorizing", "capturing", "refunding")
T1, T2 = "2026-11-20T10:01:00.000Z", "2026-11-21T09:00:00.000Z"


def notifications_of(p: PaymentPlan) -> list[tuple[str, str, str]]:
    """(NotificationType, NotificationData, what applying it should do), in Amazon's order."""
    if p.story == "authorizing":
        return [
            ("OrderReferenceNotification", order_reference_xml(p, "Open", p.created), "known"),
            ("PaymentAuthorize", authorization_xml(p, "Open", T1), "advance"),
        ]
    if p.story == "capturing":
        told = [
            ("PaymentCapture", capture_xml(p, "Completed", T2), "advance"),
            ("PaymentAuthorize", authorization_xml(p, "Closed", T2, "MaxCapturesProcessed"), "advance"),
        ]
        if p.late_open:
            # SNS does not keep order: the authorization's Open, sent a day earlier, comes last.
            told.append(("PaymentAuthorize", authorization_xml(p, "Open", T1), "stale"))
        return told
    return [("PaymentRefund", refund_xml(p, "Completed", T2), "advance")]


@dataclass(frozen=True)
class Delivery:
    body: bytes
    headers: dict[str, str]
    expect: str  # advance / known / stale / duplicate
    message_id: str


def sign(envelope: dict[str, str], key: rsa.RSAPrivateKey) -> dict[str, str]:
    # SignatureVersion 1 = SHA1withRSA over "Name\nvalue\n" for Message, MessageId, Subject (if
    # any), Timestamp, TopicArn, Type (AWS, sns-verify-signature-of-message; Amazon Pay sends 1).
    canonical = "".join(
        f"{name}\n{envelope[name]}\n"
        for name in ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
        if name in envelope
    ).encode()
    signature = key.sign(canonical, padding.PKCS1v15(), hashes.SHA1())
    return {**envelope, "Signature": base64.b64encode(signature).decode()}


def delivery(kind: str, data: str, expect: str, *, server: CertificateServer) -> Delivery:
    message_id = str(uuid.uuid4())
    message = {
        "NotificationReferenceId": str(uuid.uuid4()),
        "MarketplaceID": "A3BXB0YN3XH17H",
        "NotificationType": kind,
        "SellerId": SELLER_ID,
        "ReleaseEnvironment": "Sandbox",
        "Version": "2013-01-01",
        "NotificationData": data,
        "Timestamp": "2026-11-21T09:00:01Z",
    }
    envelope = sign(
        {
            "Type": "Notification",
            "MessageId": message_id,
            "TopicArn": topic_arn(),
            "Message": json.dumps(message),
            "Timestamp": "2026-11-21T09:00:01.123Z",
            "SignatureVersion": "1",
            "SigningCertURL": server.url,
            "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
        },
        server.key,
    )
    headers = {
        "x-amz-sns-message-type": "Notification",
        "x-amz-sns-message-id": message_id,
        "x-amz-sns-topic-arn": topic_arn(),
        "content-type": "text/plain; charset=UTF-8",
        "user-agent": "Amazon Simple Notification Service Agent",
    }
    return Delivery(json.dumps(envelope).encode(), headers, expect, message_id)


def plan_payments(first: int, count: int, rng: random.Random) -> list[PaymentPlan]:
    return [
        PaymentPlan(first + i, story, late_open=story == "capturing" and rng.random() < 0.15)
        for i, story in ((i, STORIES[i % 3]) for i in range(count))
    ]


def stream_for(plans: list[PaymentPlan], rng: random.Random, server: CertificateServer) -> list[Delivery]:
    """Every payment's notifications in its own order, payments interleaved, ~5% redelivered."""
    queues = [[delivery(k, d, e, server=server) for k, d, e in notifications_of(p)] for p in plans]
    stream: list[Delivery] = []
    while queues:
        i = rng.randrange(len(queues))
        stream.append(queues[i].pop(0))
        if not queues[i]:
            queues[i] = queues[-1]
            queues.pop()
    for original in [d for d in stream if rng.random() < 0.05]:
        # SNS redelivers the same signed bytes a little later when an answer was slow or lost.
        at = min(len(stream), stream.index(original) + rng.randrange(1, 200))
        stream.insert(at, Delivery(original.body, original.headers, "duplicate", original.message_id))
    return stream


# --- the database as the payment service leaves it -------------------------------------------------


def create_payments(plans: list[PaymentPlan]) -> None:
    from django.db import transaction

    from paydesk.amazonpay.models import Payment, Transaction
    from paydesk.orders.models import Order

    t0 = dt.datetime(2026, 11, 20, 10, 0, tzinfo=dt.UTC)
    with transaction.atomic():
        orders = Order.objects.bulk_create(
            Order(
                number=p.number,
                placed_at=t0,
                customer_name="Bench Buyer",
                customer_email=f"buyer{p.index}@example.com",
                currency="USD",
                subtotal=Decimal(p.amount),
                total=Decimal(p.amount),
                status={"authorizing": "queued", "capturing": "queued", "refunding": "processed"}[p.story],
            )
            for p in plans
        )
        payments = Payment.objects.bulk_create(
            Payment(
                order=order,
                amazon_order_reference_id=p.order_reference_id,
                order_reference_state="Open",
                order_reference_updated=t0,
                order_total=Decimal(p.amount),
                currency="USD",
                mode="authorize_then_capture",
            )
            for p, order in zip(plans, orders, strict=True)
        )
        rows = []
        for p, payment in zip(plans, payments, strict=True):

            def txn(kind, state, amazon_id, ref, parent="", updated=t0, payment=payment, p=p):
                return Transaction(
                    payment=payment,
                    kind=kind,
                    state=state,
                    amazon_id=amazon_id,
                    reference_id=ref,
                    amount=Decimal(p.amount),
                    currency="USD",
                    parent_amazon_id=parent,
                    amazon_updated_at=updated,
                )

            if p.story == "authorizing":
                rows.append(txn("authorization", "Pending", p.authorization_id, f"{p.number}-a1"))
            elif p.story == "capturing":
                rows.append(txn("authorization", "Open", p.authorization_id, f"{p.number}-a1", updated=t0))
                rows.append(
                    txn("capture", "Pending", p.capture_id, f"{p.number}-c1", parent=p.authorization_id)
                )
            else:
                rows.append(
                    txn(
                        "authorization",
                        "Closed",
                        p.authorization_id,
                        f"{p.number}-a1",
                    )
                )
                rows.append(
                    txn("capture", "Completed", p.capture_id, f"{p.number}-c1", parent=p.authorization_id)
                )
                rows.append(txn("refund", "Pending", p.refund_id, f"{p.number}-r1", parent=p.capture_id))
        Transaction.objects.bulk_create(rows)


def configure_store(server: CertificateServer) -> None:
    from paydesk.amazonpay.models import AmazonPaySettings, Environment

    settings = AmazonPaySettings.load()
    settings.environment = Environment.OFFLINE_SANDBOX
    settings.offline_sandbox_url = server.base  # trusts certificates under <base>/sandbox/sns/
    settings.seller_id = SELLER_ID
    settings.access_key = "AKIAPAYDESKBENCH0001"
    settings.ipn_topic_arn = topic_arn()
    settings.save()


# --- measuring ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Run:
    label: str
    count: int
    wall: float
    cpu: float
    statements: int = 0  # SQL statements sent through Django during the run (0: not counted)
    note: str = ""  # a line printed under the run's figures

    @property
    def rate(self) -> float:
        return self.count / self.wall


def ingest_directly(
    stream: list[Delivery], recorder: environment.StatementRecorder
) -> tuple[Run, list[slice]]:
    """The run, and for each delivery the part of `recorder.log` its statements took."""
    from paydesk.amazonpay import inbox

    statuses, parts = [], []
    with recorder.recording():
        wall, cpu = time.perf_counter(), time.process_time()
        for d in stream:
            first = len(recorder.log)
            statuses.append(inbox.receive(d.body, headers=d.headers, remote_addr="127.0.0.1").status)
            parts.append(slice(first, len(recorder.log)))
        wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    _check_all_acknowledged(statuses)
    statements = sum(entry[0] == "sql" for entry in recorder.log)
    return Run("inbox.receive (store, verify, dedupe, apply)", len(stream), wall, cpu, statements), parts


def replay_without_orm(
    stream: list[Delivery],
    recorder: environment.StatementRecorder,
    parts: list[slice],
    server: CertificateServer,
) -> Run:
    """What the same work costs without Django's ORM, measured rather than estimated: each
    delivery verified and parsed as the inbox does it, then exactly the SQL statements the
    inbox sent for it (with their parameters, transactions, commits and the duplicates' failed
    inserts) sent again through a raw cursor, on a copy of the database as it was before the
    run. Not a way Paydesk runs: the floor that statements written by hand could approach."""
    from paydesk.amazonpay import sns
    from paydesk.amazonpay.notifications import parse_notification_data

    policy = sns.TrustPolicy.offline_sandbox(server.base + "/sandbox/sns/")
    certificates = sns.HttpsCertificateSource.for_policy(policy)
    in_sql = 0.0
    wall, cpu = time.perf_counter(), time.process_time()
    for d, part in zip(stream, parts, strict=True):
        message = sns.parse_envelope(d.body)
        sns.verify(message, policy=policy, certificates=certificates)
        ipn = sns.parse_ipn_message(message)
        sns.check_belongs_to_store(ipn, seller_id=SELLER_ID, topic_arn=topic_arn())
        parse_notification_data(ipn.notification_type, ipn.notification_data, root=ipn.notification_root)
        started = time.perf_counter()
        recorder.replay(recorder.log[part])
        in_sql += time.perf_counter() - started
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    certificates.close()
    split = (
        f"    of which the statements {1000 * in_sql / len(stream):.3f} ms, "
        f"verifying and parsing {1000 * (wall - in_sql) / len(stream):.3f} ms"
    )
    label = "the same verification + the same SQL through a raw cursor (no ORM)"
    return Run(label, len(stream), wall, cpu, note=split)


def ingest_through_django(stream: list[Delivery]) -> Run:
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    statuses = []
    wall, cpu = time.perf_counter(), time.process_time()
    for d in stream:
        meta = {"HTTP_" + name.upper().replace("-", "_"): value for name, value in d.headers.items()}
        meta.pop("HTTP_CONTENT_TYPE")
        response = client.post("/amazonpay/ipn/", data=d.body, content_type=d.headers["content-type"], **meta)
        statuses.append(response.status_code)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    _check_all_acknowledged(statuses)
    return Run("POST /amazonpay/ipn/ through Django (test client)", len(stream), wall, cpu)


def report(run: Run, plans: list[PaymentPlan], stream: list[Delivery]) -> None:
    print(TARGET.line(run.label, run.rate))
    each = 1000 * run.wall / run.count
    print(f"    {run.wall:.2f} s wall, {run.cpu:.2f} s CPU in this process; {each:.3f} ms each")
    if run.statements:
        per_notification = run.statements / run.count
        print(f"    {per_notification:.1f} SQL statements per notification (BEGIN and COMMIT not counted)")
    if run.note:
        print(run.note)
    print(check_outcomes(plans, stream))


def _check_all_acknowledged(statuses: list[int]) -> None:
    refused = [s for s in statuses if s != 200]
    if refused:
        raise SystemExit(f"{len(refused)} notifications were not acknowledged (first: HTTP {refused[0]})")


def check_outcomes(plans: list[PaymentPlan], stream: list[Delivery]) -> str:
    """Prove the run did the work: every notification kept, duplicates caught, states moved,
    nothing moved backwards."""
    from django.db.models import Count

    from paydesk.amazonpay.models import Notification, Transaction, Verdict

    ids = {d.message_id for d in stream}
    rows = Notification.objects.filter(claimed_message_id__in=ids)
    verdicts = dict(rows.values_list("verdict").annotate(n=Count("id")))
    expected_duplicates = sum(d.expect == "duplicate" for d in stream)
    problems = []
    if rows.count() != len(stream):
        problems.append(f"{rows.count()} rows stored for {len(stream)} deliveries")
    if verdicts.get(Verdict.DUPLICATE, 0) != expected_duplicates:
        problems.append(f"{verdicts.get(Verdict.DUPLICATE, 0)} duplicates, expected {expected_duplicates}")
    if rows.filter(verdict=Verdict.ACCEPTED, applied=True).count() != len(stream) - expected_duplicates:
        problems.append("not every first delivery was applied")
    want = {
        "authorizing": {"authorization": "Open"},
        "capturing": {"authorization": "Closed", "capture": "Completed"},
        "refunding": {"refund": "Completed"},
    }
    states = {
        (payment_oro, kind): state
        for payment_oro, kind, state in Transaction.objects.filter(
            payment__amazon_order_reference_id__in=[p.order_reference_id for p in plans]
        ).values_list("payment__amazon_order_reference_id", "kind", "state")
    }
    wrong = sum(
        states.get((p.order_reference_id, kind)) != state
        for p in plans
        for kind, state in want[p.story].items()
    )
    if wrong:
        problems.append(f"{wrong} transactions did not end in the state Amazon last reported")
    if problems:
        raise SystemExit("The run did not do what it should: " + "; ".join(problems))
    stale = sum(d.expect == "stale" for d in stream)
    return (
        f"  checked: {len(stream)} stored, {expected_duplicates} duplicates answered without effect, "
        f"{stale} late notifications ignored, every payment in Amazon's latest state"
    )


def verify_only(stream: list[Delivery], server: CertificateServer) -> Run:
    """Our verification alone: parse, check URL, certificate (cached), signature, inner message."""
    from paydesk.amazonpay import sns

    policy = sns.TrustPolicy.offline_sandbox(server.base + "/sandbox/sns/")
    certificates = sns.HttpsCertificateSource.for_policy(policy)
    unique = list({d.message_id: d for d in stream}.values())
    wall, cpu = time.perf_counter(), time.process_time()
    for d in unique:
        message = sns.parse_envelope(d.body)
        sns.verify(message, policy=policy, certificates=certificates)
        sns.check_belongs_to_store(sns.parse_ipn_message(message), seller_id=SELLER_ID, topic_arn=topic_arn())
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    certificates.close()
    return Run("paydesk.amazonpay.sns (certificate cached)", len(unique), wall, cpu)


def sdk_python(rebuild: bool) -> Path:
    python = SDK_VENV / "bin" / "python"
    if rebuild or not python.exists():
        print(f"building {SDK_VENV} for Amazon's SDK ({', '.join(SDK_REQUIREMENTS)}) ...", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(SDK_VENV)
        subprocess.run(
            [str(python), "-m", "pip", "install", "--quiet", "--no-warn-script-location", *SDK_REQUIREMENTS],
            check=True,
        )
    return python


def verify_with_sdk(stream: list[Delivery], server: CertificateServer, rebuild: bool) -> list[Run]:
    unique = list({d.message_id: d for d in stream}.values())
    with tempfile.TemporaryDirectory(prefix="paydesk-bench-sdk-") as folder:
        messages = Path(folder) / "messages.jsonl"
        with messages.open("w") as out:
            for d in unique:
                line = {"body": d.body.decode(), "topic": d.headers["x-amz-sns-topic-arn"]}
                out.write(json.dumps(line) + "\n")
        done = subprocess.run(
            [str(sdk_python(rebuild)), str(SDK_SCRIPT), str(messages), server.base],
            check=True,
            capture_output=True,
            text=True,
        )
    return [Run(**fields) for fields in json.loads(done.stdout)]


def compare_verification(
    stream: list[Delivery], server: CertificateServer, rebuild: bool, rounds: int = 3
) -> None:
    """Ours and the SDK's, alternating round by round so that noise from other processes falls
    on both alike; the median round of each is reported."""
    runs: dict[str, list[Run]] = {}
    for _ in range(rounds):
        for run in (verify_only(stream, server), *verify_with_sdk(stream, server, rebuild)):
            runs.setdefault(run.label, []).append(run)
    medians = {label: sorted(r.rate for r in rs)[len(rs) // 2] for label, rs in runs.items()}
    ours_label = next(iter(medians))
    count = runs[ours_label][0].count
    print(f"  verification only, the same {count:,} messages (median of {rounds} alternating rounds):")
    for label, rate in medians.items():
        print(f"    {label}: {rate:,.0f} messages/s ({1000 / rate:.3f} ms each)")
    for label, rate in list(medians.items())[1:]:
        print(f"    ours / {label}: {medians[ours_label] / rate:.1f}x")


# --- main ----------------------------------------------------------------------------------------


def measure(database: str, payments: int, seed: int, sdk: bool, rebuild_sdk: bool) -> None:
    rng = random.Random(seed)
    server = CertificateServer()
    try:
        with environment.django_on(database) as described:
            print(f"\n== IPN ingestion on {described} ==", flush=True)
            configure_store(server)
            direct_plans = plan_payments(1, payments, rng)
            django_plans = plan_payments(payments + 1, payments, rng)
            create_payments(direct_plans + django_plans)
            direct_stream = stream_for(direct_plans, rng, server)
            django_stream = stream_for(django_plans, rng, server)
            print(
                f"  {2 * payments:,} payments; {len(direct_stream):,} + {len(django_stream):,} deliveries "
                "(one thread, one process)",
                flush=True,
            )
            before = environment.copy_database()
            recorder = environment.StatementRecorder()
            direct, parts = ingest_directly(direct_stream, recorder)
            report(direct, direct_plans, direct_stream)
            report(ingest_through_django(django_stream), django_plans, django_stream)
            with environment.on_database(before):
                floor = replay_without_orm(direct_stream, recorder, parts, server)
                report(floor, direct_plans, direct_stream)
            print(
                f"    the ORM's share: {1000 * (direct.wall - floor.wall) / direct.count:.3f} ms of "
                f"{1000 * direct.wall / direct.count:.3f} ms per notification "
                f"({(direct.wall - floor.wall) / direct.wall:.0%})"
            )
            if sdk:
                compare_verification(direct_stream, server, rebuild_sdk)
    finally:
        server.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--db", default="both", help="sqlite, postgres or both (default)")
    parser.add_argument("--payments", type=int, default=3000, help="payments per run (default 3000)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--no-sdk", action="store_true", help="skip the comparison with Amazon's SDK")
    parser.add_argument("--rebuild-sdk-venv", action="store_true", help=f"recreate {SDK_VENV.name}")
    args = parser.parse_args(argv)
    databases = environment.databases_from(args.db)
    if len(databases) > 1:
        print(figures.machine())
        forwarded = ["--payments", str(args.payments), "--seed", str(args.seed)]
        forwarded += ["--no-sdk"] if args.no_sdk else []
        forwarded += ["--rebuild-sdk-venv"] if args.rebuild_sdk_venv else []
        return environment.run_per_database(Path(__file__), databases, forwarded)
    measure(databases[0], args.payments, args.seed, not args.no_sdk, args.rebuild_sdk_venv)
    print("  noise: " + figures.busy_processes())
    return 0


if __name__ == "__main__":
    sys.exit(main())
