"""`paydesk reconcile [--once] [--batch N] [--workers N]`: ask Amazon about every payment that
needs its word (see `paydesk.amazonpay.reconcile`), with a progress bar on standard error.

Without --once it keeps running, sleeping until the next check falls due, until Ctrl-C or
SIGTERM. On PostgreSQL start as many as you like, on as many machines as you like: they claim
disjoint batches and share the seller's Amazon quotas. On SQLite run one (or let `paydesk serve`
run it in the background, which it does unless told --no-reconcile).
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
import time
from typing import TYPE_CHECKING, TextIO

from paydesk.cli import at_least

if TYPE_CHECKING:  # `paydesk --help` must not set up Django
    from paydesk.amazonpay.reconcile import PassReport


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--once", action="store_true", help="check what is due now, then exit")
    parser.add_argument(
        "--batch", type=at_least(1), default=20, help="payments claimed at a time (default 20)"
    )
    parser.add_argument(
        "--workers", type=at_least(1), default=1, help="worker threads (default 1; always 1 on SQLite)"
    )
    parser.add_argument("--data-dir", help="where SQLite and the generated secret live (default ./var)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar, a summary only")


class ProgressBar:
    """A one-line progress bar when `stream` is a terminal; a line every few seconds when not."""

    def __init__(self, total: int, *, stream: TextIO = sys.stderr, width: int = 28, every: float = 5.0):
        self.total = total
        self._stream = stream
        self._width = width
        self._tty = stream.isatty()
        self._every = every
        self._last_line = 0.0

    def line(self, report: PassReport) -> str:
        total = max(self.total, report.claimed, 1)
        done = report.refreshed + report.failed
        filled = round(self._width * done / total)
        bar = "#" * filled + "-" * (self._width - filled)
        return (
            f"reconcile [{bar}] {done}/{total} checked, {report.failed} failed, "
            f"{report.throttled_retries} throttled replies retried"
        )

    def __call__(self, report: PassReport) -> None:
        if self._tty:
            self._stream.write("\r" + self.line(report))
            self._stream.flush()
        elif time.monotonic() - self._last_line >= self._every:
            self._last_line = time.monotonic()
            print(self.line(report), file=self._stream, flush=True)

    def finish(self, report: PassReport) -> None:
        if self._tty:
            self._stream.write("\r" + self.line(report) + "\n")
        print(summary(report), file=self._stream, flush=True)


def summary(report: PassReport) -> str:
    return (
        f"reconcile: checked {report.claimed} payment{'' if report.claimed == 1 else 's'} "
        f"in {report.seconds:.1f} s "
        f"({report.per_second:.2f}/s): {report.refreshed} refreshed, {report.failed} failed "
        f"({report.throttled_surfaced} of them throttled); {report.requests} requests to Amazon, "
        f"{report.throttled_retries} throttled replies retried, "
        f"{report.waited_seconds:.1f} s waited for quota"
    )


# How often a worker looks again for settings that are not filled in yet.
UNCONFIGURED_WAIT_SECONDS = 10.0


def run(args: argparse.Namespace) -> int:
    from paydesk.web.django_setup import setup

    setup(args.data_dir)
    from django.utils import timezone

    from paydesk.amazonpay import reconcile
    from paydesk.amazonpay.models import AmazonPaySettings

    if args.once and not AmazonPaySettings.load().is_configured:
        print("paydesk reconcile: Amazon Pay is not configured yet (Settings page)", file=sys.stderr)
        return 1
    workers = reconcile.effective_workers(args.workers)
    if workers != args.workers:
        print("paydesk reconcile: SQLite has one writer, so one worker", file=sys.stderr)

    def one_pass(stop: threading.Event) -> PassReport:
        now = timezone.now()
        bar = None if args.no_progress else ProgressBar(reconcile.due(now).count())
        report = reconcile.run_pass(batch=args.batch, workers=workers, now=now, progress=bar, stop=stop)
        if bar is not None:
            bar.finish(report)
        elif report.claimed or args.once:
            print(summary(report), file=sys.stderr, flush=True)
        return report

    stop = threading.Event()
    previous = signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    try:
        if args.once:
            return 1 if one_pass(stop).failed else 0
        print("paydesk reconcile: running (Ctrl-C stops it)", file=sys.stderr, flush=True)

        waiting = False

        def one_round() -> float:
            # A worker started with the deploy, before anyone filled in the Settings page (or
            # while the database is still coming up: keep_running retries), waits instead of
            # exiting, and says so once.
            nonlocal waiting
            configured = AmazonPaySettings.load().is_configured
            if not configured and not waiting:
                print(
                    "paydesk reconcile: Amazon Pay is not configured yet (Settings page); waiting",
                    file=sys.stderr,
                    flush=True,
                )
            waiting = not configured
            if not configured:
                return UNCONFIGURED_WAIT_SECONDS
            one_pass(stop)
            return reconcile.seconds_until_next_check()

        reconcile.keep_running(stop, one_round)
    except KeyboardInterrupt:
        stop.set()
    finally:
        signal.signal(signal.SIGTERM, previous)
    return 0
