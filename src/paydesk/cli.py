"""The `paydesk` command.

Each sub-command lives beside the code it drives, in a module with two functions:
`add_arguments(parser)` and `run(args) -> int`. Those modules keep their heavy imports
inside `run`, so `paydesk --help` stays fast.
"""

from __future__ import annotations

import argparse
import errno
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


def port(text: str) -> int:
    """An argparse type: a TCP port (0 = any free one)."""
    value = _integer(text)
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is no port: ports are 0 to 65535")
    return value


def at_least(minimum: int):
    """An argparse type: a whole number of at least `minimum`."""

    def number(text: str) -> int:
        value = _integer(text)
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text} is too small: at least {minimum}")
        return value

    return number


def _integer(text: str) -> int:
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    if not getattr(args, "command", None):
        parser.print_help()
        return 2
    from django.core.exceptions import ImproperlyConfigured

    module = importlib.import_module(args._module)
    try:
        return int(module.run(args) or 0)
    except OSError as exc:
        # A bind's errors name no file (a busy port, an address not here, a port below 1024
        # without the privilege); a data file's permission error does, and is raised as it is.
        if exc.filename is not None or exc.errno not in (errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES):
            raise
        # A busy port or an address this machine does not have: one line, not a traceback.
        print(f"paydesk {args.command}: cannot listen there: {exc.strerror}", file=sys.stderr)
        return 1
    except ImproperlyConfigured as exc:
        print(f"paydesk {args.command}: {exc}", file=sys.stderr)
        return 2
