"""A Paydesk process that captures or refunds and is then killed at the dangerous point: after
Amazon acted, before Paydesk recorded it.

    python tests/reconcile/crash_worker.py capture|refund PAYMENT_ID MARKER_FILE --pause-after-reply

Settings come from the environment (DATABASE_URL, PAYDESK_DATA_DIR, PAYDESK_SECRET_KEY), so it
works on the test's SQLite file and on its PostgreSQL database alike. With --pause-after-reply
the process receives Amazon's reply, writes MARKER_FILE and sleeps (bounded) until the test
kills it; without it the test arms the sandbox's act_then_timeout fault and kills the process
while it waits for a reply that never comes.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import django

LONGEST_PAUSE = 120.0  # seconds; the test kills the process long before


class PausingClient:
    """The real client, except that after Amazon answered a capture or refund the process
    announces it and stops before Paydesk can record the reply."""

    def __init__(self, client, marker: Path):
        self._client = client
        self._marker = marker

    def __getattr__(self, name):
        return getattr(self._client, name)

    def _pause(self) -> None:
        self._marker.write_text("Amazon answered; the reply is not recorded")
        time.sleep(LONGEST_PAUSE)
        raise SystemExit("crash_worker: nobody killed me")

    def capture(self, *args, **kwargs):
        self._client.capture(*args, **kwargs)
        self._pause()

    def refund(self, *args, **kwargs):
        self._client.refund(*args, **kwargs)
        self._pause()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("action", choices=["capture", "refund"])
    parser.add_argument("payment_id", type=int)
    parser.add_argument("marker", type=Path)
    parser.add_argument("--pause-after-reply", action="store_true")
    args = parser.parse_args()

    django.setup()
    import httpx

    from paydesk.amazonpay import connection, services
    from paydesk.amazonpay.models import AmazonPaySettings
    from paydesk.amazonpay.retry import RetryPolicy

    client = connection.build_client(
        AmazonPaySettings.load(), retry=RetryPolicy(max_attempts=1), timeout=httpx.Timeout(60.0)
    )
    if args.pause_after_reply:
        client = PausingClient(client, args.marker)
    else:
        args.marker.write_text("calling Amazon")
    services.use_client_factory(lambda settings: client)
    actor = services.Actor(services.Source.STAFF, "crash-test")
    result = getattr(services, args.action)(args.payment_id, actor=actor)
    print(f"crash_worker: {args.action} finished without being killed: {result}", file=sys.stderr)
    return 3


if __name__ == "__main__":
    raise SystemExit(main())
