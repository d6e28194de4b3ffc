"""`paydesk serve`: the web app under waitress, a production WSGI server, with the reconciler
running in a background thread (unless --no-reconcile).

One machine: SQLite, one `paydesk serve` (its reconciler thread included). Several machines:
point every process at one PostgreSQL database (DATABASE_URL) and the same PAYDESK_SECRET_KEY,
then run any number of `paydesk serve` processes behind a load balancer and any number of
`paydesk reconcile` workers. Every payment change locks its row, so web processes never step on
each other; reconcile workers claim disjoint batches with SELECT ... FOR UPDATE SKIP LOCKED; and
all of them pace their Amazon requests through the same per-seller quota buckets in the
database. Run migrations once per deploy (`paydesk serve` does unless --no-migrate; give the
other processes --no-migrate). README.md, "Running in production", has the details.
"""

from __future__ import annotations

import argparse
import logging
import signal

from paydesk.cli import at_least, port

log = logging.getLogger("paydesk.serve")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=port, default=8000, help="port to listen on (default 8000)")
    parser.add_argument("--threads", type=at_least(1), default=8, help="worker threads (default 8)")
    parser.add_argument("--data-dir", help="where SQLite and the generated secret live (default ./var)")
    parser.add_argument("--no-migrate", action="store_true", help="do not apply database migrations first")
    parser.add_argument(
        "--no-reconcile",
        action="store_true",
        help="do not run the reconciler in the background (run `paydesk reconcile` workers instead)",
    )


def make_server(*, host: str, port: int, threads: int = 8):
    """A waitress server for the Django app, not yet serving (call `.run()`)."""
    from django.conf import settings
    from waitress.server import create_server

    from paydesk.web.wsgi import application

    proxy = {}
    if settings.PAYDESK_TRUSTED_PROXY:
        # waitress removes X-Forwarded-Proto unless it comes from a trusted proxy, and without
        # it Django takes every request for plain http: the CSRF origin check then refused
        # every login behind the TLS proxy.
        proxy = {
            "trusted_proxy": settings.PAYDESK_TRUSTED_PROXY,
            "trusted_proxy_headers": {"x-forwarded-proto"},
        }
    return create_server(application, host=host, port=port, threads=threads, ident="paydesk", **proxy)


def run(args: argparse.Namespace) -> int:
    from paydesk.web.django_setup import migrate, setup

    setup(args.data_dir)
    if not args.no_migrate:
        migrate()
    server = make_server(host=args.host, port=args.port, threads=args.threads)
    reconciler = None
    if not args.no_reconcile:
        from paydesk.amazonpay.reconcile import BackgroundReconciler

        reconciler = BackgroundReconciler().start()
    print(f"Paydesk is serving on http://{args.host}:{server.effective_port}/ (Ctrl-C stops it)", flush=True)
    # systemd and docker stop with SIGTERM: stop as Ctrl-C does (the reconciler finishes its
    # payment and lets go of its lease) instead of dying mid-request. KeyboardInterrupt, because
    # waitress's loop lets only that (and SystemExit) through its handlers.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        server.close()
        if reconciler is not None:
            reconciler.stop()
    return 0
