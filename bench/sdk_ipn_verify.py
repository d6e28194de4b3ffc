"""Amazon's SDK side of benchmark 1; runs in bench/.venv-sdk, never imports Paydesk.

    bench/.venv-sdk/bin/python bench/sdk_ipn_verify.py MESSAGES.jsonl CERT_BASE_URL

Verifies every message with `amazon_pay.ipn_handler.IpnHandler(body, headers).authenticate()`
(amazon-pay 2.7.1) and prints the timings as JSON. The SDK only accepts certificates from
https://sns.<region>.amazonaws.com (docs/amazon-pay-v1.md §7.5, §8.5), so its URL check - and
nothing else - is replaced by one that accepts the benchmark's certificate on 127.0.0.1.
Measured twice: as shipped (the SDK downloads the certificate for every message: it has no
cache) and with `_get_cert` answered from memory, which leaves parsing and the RSA check.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

from amazon_pay.ipn_handler import IpnHandler


def main(messages_file: str, cert_base: str) -> int:
    messages = [json.loads(line) for line in Path(messages_file).read_text(encoding="utf-8").splitlines()]
    trusted = urlparse(cert_base)

    def validate_cert_url(handler: IpnHandler) -> bool:
        url = urlparse(handler._signing_cert_url)
        if (url.scheme, url.netloc) != (trusted.scheme, trusted.netloc) or not url.path.endswith(".pem"):
            raise ValueError("Invalid certificate.")
        return True

    IpnHandler._validate_cert_url = validate_cert_url
    as_shipped = _run(messages, "amazon_pay IpnHandler 2.7.1 (downloads the certificate each time)")

    shipped_get_cert = IpnHandler._get_cert
    remembered: dict[str, str] = {}

    def get_cert_from_memory(handler: IpnHandler) -> bool:
        url = handler._signing_cert_url
        if url not in remembered:
            shipped_get_cert(handler)
            remembered[url] = handler._pem
        handler._pem = remembered[url]
        return True

    IpnHandler._get_cert = get_cert_from_memory
    cached = _run(messages, "amazon_pay IpnHandler 2.7.1 (certificate kept in memory)")

    # The SDK swallows every error in its signature check (a bare except), so show that it
    # really verifies: a message with one byte of its Message changed must be refused.
    tampered = json.loads(messages[0]["body"])
    tampered["Message"] = tampered["Message"].replace("Sandbox", "Sandbax", 1)
    try:
        headers = {"X-Amz-Sns-Topic-Arn": messages[0]["topic"]}
        IpnHandler(json.dumps(tampered).encode(), headers).authenticate()
    except ValueError:
        pass
    else:
        raise SystemExit("the SDK accepted a tampered message: its verification is not working")
    print(json.dumps([as_shipped, cached]))
    return 0


def _run(messages: list[dict], label: str) -> dict:
    wall, cpu = time.perf_counter(), time.process_time()
    for message in messages:
        handler = IpnHandler(message["body"].encode(), {"X-Amz-Sns-Topic-Arn": message["topic"]})
        handler.authenticate()  # raises ValueError for anything it refuses
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    return {"label": label, "count": len(messages), "wall": wall, "cpu": cpu}


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
