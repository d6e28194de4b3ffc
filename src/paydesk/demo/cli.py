"""`paydesk demo`: set up and run the whole order desk offline, in one process.

1. migrates a SQLite database in the data directory (default var/demo);
2. starts the sandbox (Amazon's stand-in), keeping its state beside the database;
3. points the store's Amazon Pay settings at it, with the sandbox's demo credentials;
4. creates (or resets) a staff user and prints the credentials;
5. serves the web app, and seeds orders in varied states the first time.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import secrets
import shutil
import signal
import sqlite3
import sys
import threading
from pathlib import Path

from paydesk.cli import at_least, port


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--host", default="127.0.0.1", help="address for the web app and sandbox (default 127.0.0.1)"
    )
    parser.add_argument("--port", type=port, default=8000, help="web app port (default 8000)")
    parser.add_argument("--sandbox-port", type=port, default=8001, help="sandbox port (default 8001)")
    parser.add_argument(
        "--data-dir", default="var/demo", help="database and sandbox state (default var/demo)"
    )
    parser.add_argument(
        "--orders",
        type=at_least(0),
        default=20,
        help="about how many orders to seed on first start, at least one of each kind (default 20; 0 = none)",
    )
    parser.add_argument("--user", default="staff", help="the staff user's name (default staff)")
    parser.add_argument("--password", help="the staff user's password (default: a new random one each start)")
    parser.add_argument("--reset", action="store_true", help="start from an empty database and sandbox")
    parser.add_argument(
        "--database-url",
        help="a database of the demo's own, e.g. a throwaway PostgreSQL (default: SQLite in the data dir; "
        "DATABASE_URL is ignored, so the demo never writes into a store's database by accident)",
    )
    parser.add_argument(
        "--throttle", action="store_true", help="keep Amazon's request quotas on in the sandbox"
    )
    parser.add_argument(
        "--no-reconcile",
        action="store_true",
        help="do not check unsettled payments with Amazon in the background",
    )


def _staff_user(name: str, password: str):
    from django.contrib.auth.models import User

    user, _ = User.objects.get_or_create(username=name, defaults={"email": f"{name}@example.com"})
    user.is_staff = True
    user.is_superuser = True  # every permission: view orders, operate payments, settings
    user.set_password(password)
    user.save()
    return user


# Written into every demo data directory. The demo runs (and --reset deletes) only in a new or
# empty directory or one it made, so a mistyped --data-dir can never take a store's files with
# it. A demo folder from before the marker existed is recognised by what it holds: the demo's
# files only, and a database whose Seller ID is the sandbox's demo seller (a store's data folder
# may hold a sandbox state file too: docs/sandbox.md's `paydesk sandbox --state`).
MARKER = ".paydesk-demo"
_DEMO_FILES = ("paydesk.sqlite3", "sandbox.sqlite3", "secret_key")


def _made_by_the_demo(folder: Path) -> bool:
    if (folder / MARKER).exists():
        return True
    names = [f.name for f in folder.iterdir()]
    if not (folder / "sandbox.sqlite3").exists() or not all(n.startswith(_DEMO_FILES) for n in names):
        return False
    from paydesk.sandbox import DEMO_SELLER_ID

    return _seller_of(folder / "paydesk.sqlite3") in (None, DEMO_SELLER_ID)


def _seller_of(database: Path) -> str | None:
    """The Seller ID saved in a Paydesk SQLite database, read only; None when there is none."""
    if not database.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            row = db.execute("SELECT seller_id FROM amazonpay_amazonpaysettings WHERE id = 1").fetchone()
    except sqlite3.Error:
        return "(unreadable)"
    return row[0] if row else None


def run(args: argparse.Namespace) -> int:
    if args.port == 0:
        # The sandbox is told the web app's address to send IPNs to before the app listens.
        print(
            "paydesk demo: give the web app a port (--port); 0 would leave IPNs no address", file=sys.stderr
        )
        return 2
    data_dir = Path(args.data_dir).resolve()
    if data_dir.exists() and any(data_dir.iterdir()) and not _made_by_the_demo(data_dir):
        print(
            f"paydesk demo: {data_dir} holds files the demo did not make; nothing was changed. "
            "Give --data-dir a new or empty directory.",
            file=sys.stderr,
        )
        return 2
    if args.reset and data_dir.exists():
        shutil.rmtree(data_dir)
    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / MARKER).touch()

    # The demo keeps its own SQLite database and serves its own address, whatever this shell
    # says for the store: with DATABASE_URL exported, it used to overwrite the store's Amazon
    # credentials and add a superuser there.
    if os.environ.pop("DATABASE_URL", None) and not args.database_url:
        print(f"paydesk demo: DATABASE_URL is ignored; the demo's database is in {data_dir}.", flush=True)
    if args.database_url:
        os.environ["DATABASE_URL"] = args.database_url
    hosts = [h for h in os.environ.get("PAYDESK_ALLOWED_HOSTS", "localhost,127.0.0.1").split(",") if h]
    os.environ["PAYDESK_ALLOWED_HOSTS"] = ",".join([*hosts, args.host])

    from paydesk.web.django_setup import migrate, setup

    setup(data_dir)
    migrate()

    from paydesk.amazonpay.models import AmazonPaySettings, Environment
    from paydesk.amazonpay.reconcile import BackgroundReconciler
    from paydesk.demo.seed import seed
    from paydesk.orders.models import Order
    from paydesk.sandbox import (
        DEMO_ACCESS_KEY,
        DEMO_SECRET_KEY,
        DEMO_SELLER_ID,
        IpnSettings,
        Sandbox,
        SandboxConfig,
    )
    from paydesk.sandbox.config import IPN_RETRY_ANY_FAILURE
    from paydesk.web.serve import make_server

    web_url = f"http://{args.host}:{args.port}"
    sandbox = Sandbox(
        SandboxConfig(
            host=args.host,
            port=args.sandbox_port,
            state_file=data_dir / "sandbox.sqlite3",
            throttling=False,
            # The web app starts a moment after the sandbox: retry any failed delivery.
            ipn=IpnSettings(urls=(f"{web_url}/amazonpay/ipn/",), retry_policy=IPN_RETRY_ANY_FAILURE),
        )
    ).start()

    settings = AmazonPaySettings.load()
    settings.environment = Environment.OFFLINE_SANDBOX
    settings.offline_sandbox_url = sandbox.url
    settings.seller_id = DEMO_SELLER_ID
    settings.access_key = DEMO_ACCESS_KEY
    settings.secret_key = DEMO_SECRET_KEY
    settings.save()

    password = args.password or secrets.token_urlsafe(9)
    _staff_user(args.user, password)

    server = make_server(host=args.host, port=args.port, threads=8)
    web = threading.Thread(target=server.run, name="paydesk-web", daemon=True)
    web.start()

    if args.orders and not Order.objects.exists():
        print(f"Seeding {args.orders} orders through the sandbox...", flush=True)
        seed(sandbox, orders=args.orders)
        sandbox.wait_for_ipn_idle(timeout=30)
    sandbox.set_throttling(args.throttle)
    # As `paydesk serve` does: payments whose IPN never came are checked with Amazon by themselves.
    reconciler = BackgroundReconciler().start() if not args.no_reconcile else None

    print(
        f"""
Paydesk demo is running.
  Order desk:   {web_url}/          user {args.user!r}, password {password!r}
  Demo shop:    {web_url}/shop/      (places new Amazon Pay orders through the sandbox)
  Sandbox:      {sandbox.url}/sandbox  (Amazon's stand-in; see docs/sandbox.md)
  Data:         {data_dir}
Press Ctrl-C to stop.""",
        flush=True,
    )
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    try:
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        if reconciler is not None:
            reconciler.stop()
        server.close()
        sandbox.stop()
    return 0
