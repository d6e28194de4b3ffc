"""`paydesk reconcile` and `paydesk serve`'s background reconciler, as real processes on the
test's database (SQLite file or PostgreSQL) and the offline sandbox."""

from __future__ import annotations

import socket

from paydesk.amazonpay import reconcile
from paydesk.amazonpay.models import Payment

from . import processes
from .conftest import place


def test_paydesk_reconcile_once_checks_what_is_due_and_reports_it(transactional_db, store, sandbox, tmp_path):
    payments = [place(sandbox)[2] for _ in range(2)]
    reconcile.request_checks([p.pk for p in payments])
    log = tmp_path / "reconcile.log"
    worker = processes.start(["-m", "paydesk", "reconcile", "--once", "--workers", "2"], log=log)
    try:
        assert worker.wait(timeout=120) == 0, log.read_text()
    finally:
        processes.stop(worker)
    output = log.read_text()
    assert "reconcile: checked 2 payments" in output and "2 refreshed, 0 failed" in output
    for payment in payments:
        payment.refresh_from_db()
        # Checked, then replanned from Amazon's answer: next, the authorization's missing IPN.
        assert payment.checked_at is not None
        assert payment.check_reason == "not_notified"


def test_paydesk_reconcile_once_exits_nonzero_when_amazon_cannot_be_asked(
    transactional_db, store, sandbox, tmp_path
):
    payment = place(sandbox)[2]
    reconcile.request_checks([payment.pk])
    sandbox.arm_fault("GetOrderReferenceDetails", "500", count=100)
    log = tmp_path / "reconcile.log"
    worker = processes.start(["-m", "paydesk", "reconcile", "--once", "--no-progress"], log=log)
    try:
        assert worker.wait(timeout=180) == 1, log.read_text()
    finally:
        processes.stop(worker)
    assert "0 refreshed, 1 failed" in log.read_text()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_paydesk_serve_reconciles_in_the_background(transactional_db, store, sandbox, tmp_path):
    payment = place(sandbox)[2]
    reconcile.request_checks([payment.pk])
    log = tmp_path / "serve.log"
    server = processes.start(["-m", "paydesk", "serve", "--no-migrate", "--port", str(_free_port())], log=log)
    try:
        processes.eventually(
            lambda: Payment.objects.get(pk=payment.pk).check_reason == "not_notified",
            what="the background reconciler checking the payment and replanning it",
            log=log,
        )
    finally:
        processes.stop(server)
    assert Payment.objects.get(pk=payment.pk).checked_at is not None
