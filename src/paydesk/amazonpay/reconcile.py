"""The reconciler: finds the payments that need Amazon's word and refreshes them.

What needs a check, and when, is the payment's `next_check_at` (kept by the payment service
through `paydesk.amazonpay.schedule`): an unknown outcome, something pending past Amazon's usual
time, a state no IPN confirmed, an authorization near its expiry. A worker

1. *claims* a batch of due payments in one short transaction - `SELECT ... FOR UPDATE SKIP
   LOCKED` on PostgreSQL, so any number of workers on any number of machines take disjoint
   batches; on SQLite (one process, one worker) the IMMEDIATE transaction serialises claims -
   and leases each one (`claimed_until`): no other worker takes it until the lease ends, so a
   payment whose worker dies is simply claimed again later;
2. *refreshes* each through `services.refresh` (the one writer of payment state), with the
   quota's background priority: it uses Amazon's per-operation quotas up to their restore rate
   but leaves a spare token for people (`paydesk.amazonpay.quota`). The refresh replans the
   payment's next check from what Amazon said; a check that fails is made again after its
   backoff interval. Either way the worker then lets go of the lease.

Crash safety follows: a money movement's transaction row, with its reference id, is committed
as Unknown before Amazon is called, and that commit schedules a check; if the process dies
after Amazon acted but before the reply was recorded, the reconciler's refresh walks the order
reference's IdLists, finds the object by its reference id and records it - once.

`run_pass` is the unit of work (used by `paydesk reconcile`, by `paydesk serve`'s background
thread through `run_forever`, and by benchmarks); it returns a `PassReport` of counts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from django.db import connection, connections
from django.db import transaction as db
from django.db.models import F, Q
from django.utils import timezone

from paydesk.amazonpay import quota, schedule, services
from paydesk.amazonpay.models import AmazonPaySettings, Outcome, Payment, check_timing

log = logging.getLogger("paydesk.reconcile")


@dataclass(frozen=True)
class PassReport:
    """What one reconcile pass did."""

    claimed: int = 0  # payments taken from the queue
    refreshed: int = 0  # refreshes that brought Amazon's word
    failed: int = 0  # refreshes that failed (Amazon or the database): surfaced errors
    throttled_surfaced: int = 0  # ...of which Amazon's throttling, after the client's retries
    throttled_retries: int = 0  # RequestThrottled replies the client retried (this process)
    requests: int = 0  # HTTP requests to Amazon (this process, retries included)
    waited_seconds: float = 0.0  # time spent waiting for quota tokens (this process)
    seconds: float = 0.0

    @property
    def per_second(self) -> float:
        return self.claimed / self.seconds if self.seconds > 0 else 0.0

    def __add__(self, other: PassReport) -> PassReport:
        return PassReport(
            claimed=self.claimed + other.claimed,
            refreshed=self.refreshed + other.refreshed,
            failed=self.failed + other.failed,
            throttled_surfaced=self.throttled_surfaced + other.throttled_surfaced,
            throttled_retries=self.throttled_retries + other.throttled_retries,
            requests=self.requests + other.requests,
            waited_seconds=self.waited_seconds + other.waited_seconds,
            seconds=self.seconds + other.seconds,
        )


Progress = Callable[[PassReport], None]


# --- the queue --------------------------------------------------------------------------------


def due(now: datetime | None = None):
    """Payments whose check is due and that no worker is walking (served by the partial index
    on `next_check_at`)."""
    now = now or timezone.now()
    return Payment.objects.filter(next_check_at__lte=now).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lte=now)
    )


def next_due_at() -> datetime | None:
    """When the earliest scheduled check falls due, or None when nothing is scheduled: for a
    payment a worker is walking, when its lease ends."""
    planned = Payment.objects.filter(next_check_at__isnull=False)
    free = (
        planned.filter(Q(claimed_until__isnull=True) | Q(claimed_until__lte=F("next_check_at")))
        .order_by("next_check_at")
        .values_list("next_check_at", flat=True)
        .first()
    )
    held = (
        planned.filter(claimed_until__gt=F("next_check_at"))
        .order_by("claimed_until")
        .values_list("claimed_until", flat=True)
        .first()
    )
    return min((at for at in (free, held) if at is not None), default=None)


def request_checks(payment_ids: Iterable[int], *, at: datetime | None = None) -> int:
    """Ask for these payments to be checked at `at` (now by default); returns how many."""
    return Payment.objects.filter(pk__in=list(payment_ids)).update(
        next_check_at=at or timezone.now(), check_reason=schedule.CheckReason.REQUESTED.value, checks=0
    )


# A refresh walks up to four requests per authorization at the quota's background pace; a
# payment whose lease ends while its worker still walks it would be walked twice.
SHORTEST_LEASE = timedelta(minutes=5)


@dataclass(frozen=True)
class Taken:
    """A payment a worker claimed, and what to do with its check when it fails."""

    payment_id: int
    reason: str  # the reason it was due for
    at: datetime  # when it was taken
    lease: datetime  # claimed_until, as this worker set it
    retry_at: datetime  # when a failed check is tried again: the reason's backoff interval


def claim(batch: int, *, now: datetime | None = None) -> list[int]:
    """Take up to `batch` payments due at `now`, earliest first; see `take`."""
    return [taken.payment_id for taken in take(batch, now=now)]


def take(batch: int, *, now: datetime | None = None) -> list[Taken]:
    """Take up to `batch` payments due at `now`, earliest first: lease each one (if this worker
    dies, it is due again when the lease ends) and count the check for the backoff. The plan
    itself is left to the refresh: it records what Amazon says and replans from it."""
    now = now or timezone.now()
    # The lease runs from the moment of taking: a pass that began long ago (a backlog at quota
    # pace) must not hand out leases that have already run out.
    taken_at = max(now, timezone.now())
    timing = check_timing()
    with db.atomic():
        queue = due(now).order_by("next_check_at", "id").only("id", "check_reason", "checks")
        if connection.features.has_select_for_update_skip_locked:
            # Rows another worker holds are skipped, not waited for: workers never block each
            # other, and never take the same payment twice.
            queue = queue.select_for_update(skip_locked=True)
        payments = list(queue[:batch])
        taken = []
        for payment in payments:
            try:
                reason = schedule.CheckReason(payment.check_reason)
            except ValueError:
                reason = schedule.CheckReason.REQUESTED
            payment.checks += 1
            interval = timing.interval(reason, payment.checks)
            payment.claimed_until = taken_at + max(interval, SHORTEST_LEASE)
            lease = payment.claimed_until
            taken.append(Taken(payment.pk, reason.value, taken_at, lease, taken_at + interval))
        Payment.objects.bulk_update(payments, ["checks", "claimed_until"])
    return taken


def check_done(taken: Taken) -> None:
    """Let go of the payment: the refresh has replanned its next check."""
    Payment.objects.filter(pk=taken.payment_id, claimed_until=taken.lease).update(claimed_until=None)


def check_failed(taken: Taken) -> None:
    """A check that did not get Amazon's whole word satisfied nothing: the payment is due again
    after its backoff interval, for the reason it was taken for. Unless another worker has
    taken it since."""
    Payment.objects.filter(pk=taken.payment_id, claimed_until=taken.lease).update(
        claimed_until=None, next_check_at=taken.retry_at, check_reason=taken.reason
    )


# --- the work -----------------------------------------------------------------------------------


def reconcile_payment(payment_id: int, *, taken_at: datetime | None = None) -> services.ActionResult:
    """Refresh one payment from Amazon, as the reconciler (spare-token quota priority). The
    refresh counts from `taken_at`, the claim: what fell due by then is what it answers, so a
    pass never takes the same payment again for a check it has just made."""
    with quota.background():
        return services.refresh(payment_id, actor=services.RECONCILER, started=taken_at)


def _throttled(result: services.ActionResult) -> bool:
    # Amazon's throttling codes (docs/amazon-pay-v1.md §5.2), counted for the benchmark's
    # "throttled requests surfaced".
    return result.error_code in ("RequestThrottled", "QuotaExceeded")


class _Tally:
    """Counts, and what is left of the pass's limit, shared by its worker threads."""

    def __init__(self, limit: int | None, progress: Progress | None) -> None:
        self._lock = threading.Lock()
        self._report = PassReport()
        self._budget = limit
        self._progress = progress

    def budget(self, batch: int) -> int:
        """How many payments a worker may claim next (0: the limit is reached)."""
        with self._lock:
            if self._budget is None:
                return batch
            granted = min(batch, self._budget)
            self._budget -= granted
            return granted

    def claimed(self, granted: int, claimed: int) -> None:
        with self._lock:
            if self._budget is not None:
                self._budget += granted - claimed
        if claimed:
            self.add(claimed=claimed)

    def add(self, **counts: int) -> None:
        with self._lock:
            self._report = replace(
                self._report, **{name: getattr(self._report, name) + n for name, n in counts.items()}
            )
            report = self._report
        if self._progress is not None:
            self._progress(report)

    @property
    def report(self) -> PassReport:
        with self._lock:
            return self._report


def _work(tally: _Tally, *, batch: int, now: datetime, stop: threading.Event) -> None:
    while not stop.is_set():
        granted = tally.budget(batch)
        if granted == 0:
            return
        claimed = take(granted, now=now)
        tally.claimed(granted, len(claimed))
        if not claimed:
            return
        for taken in claimed:
            if stop.is_set():
                return  # the rest stay claimed until their lease ends
            try:
                result = reconcile_payment(taken.payment_id, taken_at=taken.at)
            except Exception:
                # One payment's surprise (a database error, a bug) must not stop the worker for
                # every other payment: logged with its traceback, counted as failed, and tried
                # again when its lease ends.
                log.exception("reconcile: payment %s failed", taken.payment_id)
                tally.add(failed=1)
                _let_go(check_failed, taken)
                continue
            if result.outcome == Outcome.DONE:
                tally.add(refreshed=1)
                _let_go(check_done, taken)
            else:
                log.warning("reconcile: payment %s: %s", taken.payment_id, result.message)
                tally.add(failed=1, throttled_surfaced=int(_throttled(result)))
                _let_go(check_failed, taken)


def _let_go(how: Callable[[Taken], None], taken: Taken) -> None:
    try:
        how(taken)
    except Exception:
        # The lease still stands: the payment is due again when it ends.
        log.exception("reconcile: payment %s: could not let go of it", taken.payment_id)


def _close_connections() -> None:
    """Close the database connections this thread opened (Django's and the quota's)."""
    connections.close_all()
    quota.close_thread_connections()


def _work_in_thread(tally: _Tally, **options) -> None:
    try:
        _work(tally, **options)
    finally:
        _close_connections()


def effective_workers(workers: int) -> int:
    """SQLite has one writer: there the reconciler runs one worker (in one process)."""
    return max(1, workers) if connection.features.has_select_for_update_skip_locked else 1


def run_pass(
    *,
    batch: int = 20,
    workers: int = 1,
    limit: int | None = None,
    now: datetime | None = None,
    progress: Progress | None = None,
    stop: threading.Event | None = None,
) -> PassReport:
    """Refresh every payment due at `now` (at most `limit`), with `workers` threads claiming
    batches of `batch`; return the counts. Payments rescheduled during the pass (still pending,
    say) wait for a later pass."""
    now = now or timezone.now()
    stop = stop or threading.Event()
    tally = _Tally(limit, progress)
    before = quota.METER.reading()
    started = time.monotonic()
    options = {"batch": batch, "now": now, "stop": stop}
    count = effective_workers(workers)
    if count == 1:
        _work(tally, **options)  # in the caller's thread, on its connection
    else:
        threads = [
            threading.Thread(
                target=_work_in_thread,
                args=(tally,),
                kwargs=options,
                name=f"paydesk-reconcile-{n}",
                daemon=True,
            )
            for n in range(count)
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    used = quota.METER.reading() - before
    return replace(
        tally.report,
        throttled_retries=used.throttled,
        requests=used.sent,
        waited_seconds=used.waited_seconds,
        seconds=time.monotonic() - started,
    )


# Between passes: payments recorded by other processes get due too, so look again at least this often.
IDLE = timedelta(seconds=30)


def seconds_until_next_check(idle: timedelta = IDLE) -> float:
    """How long to sleep before the next pass: until the earliest check falls due, at most `idle`,
    at least a second (a payment due now that another worker holds is not polled in a loop)."""
    upcoming = next_due_at()
    wait = idle if upcoming is None else min(idle, upcoming - timezone.now())
    return max(wait.total_seconds(), 1.0)


def run_forever(
    stop: threading.Event,
    *,
    batch: int = 20,
    workers: int = 1,
    idle: timedelta = IDLE,
) -> None:
    """Run passes until `stop` is set, sleeping in between (`seconds_until_next_check`)."""
    try:
        keep_running(stop, lambda: _one_round(batch=batch, workers=workers, idle=idle, stop=stop), idle=idle)
    finally:
        _close_connections()


def keep_running(stop: threading.Event, one_round: Callable[[], float], *, idle: timedelta = IDLE) -> None:
    """Call `one_round` until `stop` is set, sleeping as long as it says after each.

    An error in a round (a PostgreSQL restart, SQLite busy for too long) is logged and waited
    out with backoff: the reconciler thread of `paydesk serve` has no one watching it, and a
    reconciler that stopped for good would leave every Unknown and Pending payment unchecked."""
    failures = 0
    while not stop.is_set():
        try:
            wait = one_round()
            failures = 0
        except Exception:
            failures += 1
            wait = min(idle.total_seconds(), 2.0**failures)
            log.exception("reconcile: pass failed (%d in a row); trying again in %.0f s", failures, wait)
            _close_connections()  # a broken connection is opened afresh next time
        stop.wait(wait)


def _one_round(*, batch: int, workers: int, idle: timedelta, stop: threading.Event) -> float:
    """One pass when the store is configured; how long to sleep after it."""
    if not AmazonPaySettings.load().is_configured:
        return idle.total_seconds()
    report = run_pass(batch=batch, workers=workers, stop=stop)
    if report.claimed:
        log.info(
            "reconcile: checked %d payment(s), %d failed, %d throttled replies retried",
            report.claimed,
            report.failed,
            report.throttled_retries,
        )
    return seconds_until_next_check(idle)


class BackgroundReconciler:
    """`run_forever` in a daemon thread (how `paydesk serve` runs it)."""

    def __init__(self, **options) -> None:
        self._stop = threading.Event()
        self._options = options
        self._thread = threading.Thread(
            target=run_forever, args=(self._stop,), kwargs=options, name="paydesk-reconciler", daemon=True
        )

    def start(self) -> BackgroundReconciler:
        self._thread.start()
        return self

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._thread.join(timeout)
