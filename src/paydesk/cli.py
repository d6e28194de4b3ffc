"""The `paydesk` command.

Each sub-command lives beside the code it drives, in a module with two functions:
`add_arguments(parser)` and `run(args) -> int`. Those modules keep their heavy imports
inside `run`, so `paydesk --help` stays fast.
"""

from __future__ import annotations

import argparse
import importlib
import sys

# name -> (module, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "sandbox": ("paydesk.sandbox.cli", "run the offline Amazon Pay v1 sandbox (an MWS look-alike)"),
    "demo": (
        "paydesk.demo.cli",
        "set up and run the whole order desk offline: web app, sandbox, sample orders",
    ),
    "serve": ("paydesk.web.serve", "run the web app under a production WSGI server (waitress)"),
    "ipn": (
        "paydesk.amazonpay.sns_cli",
        "check Amazon Pay IPNs (`paydesk ipn verify FILE`), prune refused ones (`paydesk ipn prune`)",
    ),
    "reconcile": (
        "paydesk.amazonpay.reconcile_cli",
        "ask Amazon about payments that need its word (pending, unknown, unconfirmed, expiring)",
    ),
    "manage": ("paydesk.web.manage", "run a Django management command with Paydesk's settings"),
}


def build_parser() -> argparse.ArgumentParser:
    from paydesk import __version__

    parser = argparse.ArgumentParser(
        prog="paydesk", description="Paydesk: the Amazon Pay (Checkout v1) order desk."
    )
    parser.add_argument("--version", action="version", version=f"paydesk {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        command_parser = sub.add_parser(name, help=help_text, description=help_text)
        command_parser.set_defaults(_module=module_name)
        importlib.import_module(module_name).add_arguments(command_parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    module = importlib.import_module(args._module)
    return int(module.run(args) or 0)
