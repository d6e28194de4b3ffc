"""Makes SNS-signed Amazon Pay IPNs for tests, with a certificate served on 127.0.0.1.

Independent of the sandbox's IPN sender: built from AWS's documented canonical string.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID

SELLER_ID = "A2TESTSELLER01"
TOPIC = f"arn:aws:sns:us-east-1:291180941288:A3BXB0YN3XH17H{SELLER_ID}"


def make_certificate(*, common_name="sns.amazonaws.com", days_valid=365, starts_in_days=-1):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = dt.datetime.now(dt.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now + dt.timedelta(days=starts_in_days))
        .not_valid_after(now + dt.timedelta(days=starts_in_days + days_valid))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM)


class CertServer:
    """Serves PEM files at http://127.0.0.1:PORT/sandbox/sns/<name>.pem, like the offline sandbox."""

    def __init__(self):
        self.files: dict[str, bytes] = {}
        self.visited: list[str] = []
        files, visited = self.files, self.visited

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                visited.append(self.path)
                body = files.get(self.path)
                self.send_response(200 if body else 404)
                self.send_header("Content-Length", str(len(body or b"")))
                self.end_headers()
                self.wfile.write(body or b"")

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def publish(self, pem: bytes, name: str = "SimpleNotificationService-test") -> str:
        path = f"/sandbox/sns/{name}.pem"
        self.files[path] = pem
        return self.base + path

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def canonical(envelope: dict) -> bytes:
    keys = ("Message", "MessageId", "Subject", "Timestamp", "TopicArn", "Type")
    return "".join(f"{k}\n{envelope[k]}\n" for k in keys if k in envelope).encode()


def sign(envelope: dict, key) -> dict:
    signed = dict(envelope)
    algorithm = hashes.SHA1() if signed["SignatureVersion"] == "1" else hashes.SHA256()
    signed["Signature"] = base64.b64encode(
        key.sign(canonical(signed), padding.PKCS1v15(), algorithm)
    ).decode()
    return signed


def notification_data(kind: str, **fields) -> str:
    ns = 'xmlns="https://mws.amazonservices.com/ipn/OffAmazonPayments/2013-01-01"'
    ts = fields.get("updated", "2026-11-25T10:00:00.000Z")
    reason = f"<ReasonCode>{fields['reason']}</ReasonCode>" if fields.get("reason") else ""
    amount = fields.get("amount", "100.00")
    if kind == "PaymentCapture":
        body = (
            f"<CaptureNotification {ns}><CaptureDetails>"
            f"<AmazonCaptureId>{fields['amazon_id']}</AmazonCaptureId>"
            f"<CaptureReferenceId>{fields['reference_id']}</CaptureReferenceId>"
            f"<CaptureAmount><Amount>{amount}</Amount><CurrencyCode>USD</CurrencyCode></CaptureAmount>"
            "<RefundedAmount><Amount>0</Amount><CurrencyCode>USD</CurrencyCode></RefundedAmount>"
            "<CaptureFee><Amount>0.00</Amount><CurrencyCode>USD</CurrencyCode></CaptureFee><IdList/>"
            f"<CreationTimestamp>{ts}</CreationTimestamp>"
            f"<CaptureStatus><State>{fields['state']}</State><LastUpdateTimestamp>{ts}</LastUpdateTimestamp>"
            f"{reason}</CaptureStatus><SoftDescriptor>AMZ*test</SoftDescriptor>"
            "</CaptureDetails></CaptureNotification>"
        )
    elif kind == "PaymentAuthorize":
        body = (
            f"<AuthorizationNotification {ns}><AuthorizationDetails>"
            f"<AmazonAuthorizationId>{fields['amazon_id']}</AmazonAuthorizationId>"
            f"<AuthorizationReferenceId>{fields['reference_id']}</AuthorizationReferenceId>"
            f"<AuthorizationAmount><Amount>{amount}</Amount><CurrencyCode>USD</CurrencyCode></AuthorizationAmount>"
            "<CapturedAmount><Amount>0</Amount><CurrencyCode>USD</CurrencyCode></CapturedAmount>"
            "<AuthorizationFee><Amount>0.00</Amount><CurrencyCode>USD</CurrencyCode></AuthorizationFee><IdList/>"
            f"<CreationTimestamp>{ts}</CreationTimestamp><ExpirationTimestamp>2026-12-25T10:00:00.000Z</ExpirationTimestamp>"
            f"<AuthorizationStatus><State>{fields['state']}</State><LastUpdateTimestamp>{ts}</LastUpdateTimestamp>"
            f"{reason}</AuthorizationStatus><SoftDecline>false</SoftDecline><CaptureNow>false</CaptureNow>"
            "</AuthorizationDetails></AuthorizationNotification>"
        )
    else:
        body = fields["raw"]
    return '<?xml version="1.0" encoding="UTF-8"?>' + body


def envelope(
    kind: str,
    data: str,
    *,
    cert_url: str,
    seller_id: str = SELLER_ID,
    message_id: str | None = None,
    version: str = "1",
) -> dict:
    message = {
        "NotificationReferenceId": str(uuid.uuid4()),
        "MarketplaceID": "A3BXB0YN3XH17H",
        "NotificationType": kind,
        "SellerId": seller_id,
        "ReleaseEnvironment": "Sandbox",
        "Version": "2013-01-01",
        "NotificationData": data,
        "Timestamp": "2026-11-25T10:00:01Z",
    }
    return {
        "Type": "Notification",
        "MessageId": message_id or str(uuid.uuid4()),
        "TopicArn": TOPIC,
        "Message": json.dumps(message),
        "Timestamp": "2026-11-25T10:00:01.000Z",
        "SignatureVersion": version,
        "SigningCertURL": cert_url,
        "UnsubscribeURL": "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
    }


def body_of(signed: dict) -> bytes:
    return json.dumps(signed).encode()
