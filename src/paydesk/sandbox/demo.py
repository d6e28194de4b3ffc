"""`paydesk demo` (provisional): the sandbox with the demo credentials, and how to try it.

The lead replaces this with the full demo (web app + sandbox); it stays small on purpose.
"""

from __future__ import annotations

import argparse

from paydesk.sandbox.cli import describe, serve_until_stopped


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8001, help="sandbox port (default 8001)")


def run(args: argparse.Namespace) -> int:
    from paydesk.sandbox.config import SandboxConfig
    from paydesk.sandbox.server import Sandbox

    sandbox = Sandbox(SandboxConfig(port=args.port, throttling=False)).start()
    print(describe(sandbox))
    print(
        f"""
Try it (another terminal):
  curl -s -X POST {sandbox.control_url}/buyer/order-references \\
       -H 'Content-Type: application/json' -d '{{"amount": "25.00", "currency": "USD"}}'
  -> {{"AmazonOrderReferenceId": "S01-..."}}: a Draft order reference, as after an Amazon checkout.
  Point Amazon's SDK (pip install amazon-pay) at {sandbox.endpoint}
  with the credentials above, then SetOrderReferenceDetails, ConfirmOrderReference, Authorize, ...
  curl -s {sandbox.control_url}/objects/S01-...      what the sandbox knows about an object
  curl -s -X POST {sandbox.control_url}/clock -d '{{"advance": "P1D"}}'   move time forward
Press Ctrl-C to stop.""",
        flush=True,
    )
    serve_until_stopped(sandbox)
    return 0
