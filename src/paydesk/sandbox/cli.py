"""`paydesk sandbox`: run the offline Amazon Pay v1 sandbox until Ctrl-C or SIGTERM."""

from __future__ import annotations

import argparse
import os
import signal
import threading
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the real imports stay inside run(), so `paydesk --help` stays fast
    from paydesk.sandbox.config import SandboxConfig
    from paydesk.sandbox.server import Sandbox

# Lets a real secret stay out of the process list (`ps`) and shell history.
SECRET_KEY_VARIABLE = "PAYDESK_SANDBOX_SECRET_KEY"  # noqa: S105 - a variable's name, not a secret


def _port(text: str) -> int:
    # The sandbox imports nothing from the rest of Paydesk (other stores use it alone).
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is no port: ports are 0 to 65535")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    from paydesk.sandbox.config import (
        DEMO_ACCESS_KEY,
        DEMO_SELLER_ID,
        IPN_RETRY_AMAZON,
        IPN_RETRY_ANY_FAILURE,
    )

    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=_port, default=8001, help="port (default 8001; 0 = any free port)")
    parser.add_argument("--seller-id", default=DEMO_SELLER_ID, help=f"merchant id (default {DEMO_SELLER_ID})")
    parser.add_argument(
        "--access-key", default=DEMO_ACCESS_KEY, help="MWS access key id (default: the demo key)"
    )
    parser.add_argument(
        "--secret-key",
        default=None,
        help=f"MWS secret key (default: ${SECRET_KEY_VARIABLE}, else the demo secret)",
    )
    parser.add_argument(
        "--ipn-url", action="append", default=[], metavar="URL", help="where to POST IPNs (repeatable)"
    )
    parser.add_argument(
        "--ipn-retry",
        choices=(IPN_RETRY_AMAZON, IPN_RETRY_ANY_FAILURE),
        default=IPN_RETRY_AMAZON,
        help="which failed IPN deliveries are retried (default: Amazon's rule, 5xx only)",
    )
    parser.add_argument(
        "--state", type=Path, default=None, metavar="FILE", help="keep state in this SQLite file"
    )
    parser.add_argument("--no-throttle", action="store_true", help="switch Amazon's request quotas off")
    parser.add_argument(
        "--auth-settle", type=float, default=3.0, metavar="SECONDS", help="async Authorize delay"
    )
    parser.add_argument(
        "--capture-settle", type=float, default=3.0, metavar="SECONDS", help="Pending capture delay"
    )
    parser.add_argument("--refund-settle", type=float, default=5.0, metavar="SECONDS", help="refund delay")
    parser.add_argument(
        "--auth-expiry-days",
        type=float,
        default=None,
        metavar="DAYS",
        help="unused authorizations close after this long on both paths "
        "(default: Amazon's rule, 2 on the sandbox path and 30 on the live path)",
    )


def build_config(args: argparse.Namespace) -> SandboxConfig:
    from paydesk.sandbox.config import DEMO_SECRET_KEY, IpnSettings, SandboxConfig, Timings

    secret = args.secret_key or os.environ.get(SECRET_KEY_VARIABLE) or DEMO_SECRET_KEY
    return SandboxConfig(
        host=args.host,
        port=args.port,
        seller_id=args.seller_id,
        access_key=args.access_key,
        secret_key=secret,
        ipn=IpnSettings(urls=tuple(args.ipn_url), retry_policy=args.ipn_retry),
        state_file=args.state,
        throttling=not args.no_throttle,
        timings=Timings(
            authorization_settle=timedelta(seconds=args.auth_settle),
            capture_settle=timedelta(seconds=args.capture_settle),
            refund_settle=timedelta(seconds=args.refund_settle),
            authorization_expiry=(
                None if args.auth_expiry_days is None else timedelta(days=args.auth_expiry_days)
            ),
        ),
    )


def describe(sandbox: Sandbox) -> str:
    config = sandbox.config
    secret = config.secret_key if config.uses_demo_secret() else "(as configured; not shown)"
    lines = [
        "Amazon Pay v1 sandbox (offline) is running.",
        f"  endpoint     {sandbox.endpoint}",
        f"  live path    {sandbox.live_endpoint}",
        f"  seller id    {config.seller_id}",
        f"  access key   {config.access_key}",
        f"  secret key   {secret}",
        f"  control API  {sandbox.control_url}   (JSON; docs/sandbox.md)",
        f"  IPN URLs     {', '.join(config.ipn.urls) or '(none)'}",
        f"  throttling   {'on' if config.throttling else 'off'}",
        f"  state file   {config.state_file or '(memory only)'}",
    ]
    return "\n".join(lines)


def serve_until_stopped(sandbox: Sandbox) -> None:
    """Run until Ctrl-C or SIGTERM, then stop the sandbox cleanly."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, on_signal)
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        sandbox.stop()
        print("Sandbox stopped.", flush=True)


def run(args: argparse.Namespace) -> int:
    from paydesk.sandbox.server import Sandbox

    sandbox = Sandbox(build_config(args)).start()
    print(describe(sandbox), flush=True)
    print("Press Ctrl-C to stop.", flush=True)
    serve_until_stopped(sandbox)
    return 0
