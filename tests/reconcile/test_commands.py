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
    assert processes.run(["-m", "paydesk", "reconcile", "--once", "--workers", "2"], log=log) == 0, (
        log.read_text()
    )
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
    assert (
        processes.run(["-m", "paydesk", "reconcile", "--once", "--no-progress"], log=log, timeout=180) == 1
    ), log.read_text()
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


def test_paydesk_ipn_prune_deletes_only_old_refused_requests(transactional_db, tmp_path):
    from datetime import timedelta

    from django.utils import timezone

    from paydesk.amazonpay.models import Notification, Verdict

    def stored(verdict: str, days_ago: int, message_id: str | None = None) -> int:
        row = Notification.objects.create(
            body="{}",
            body_size=2,
            verdict=verdict,
            message_id=message_id,
            claimed_message_id=message_id or "",
        )
        Notification.objects.filter(pk=row.pk).update(received_at=timezone.now() - timedelta(days=days_ago))
        return row.pk

    old_forgery = stored(Verdict.REJECTED, 40)
    old_garbage = stored(Verdict.MALFORMED, 31)
    recent_forgery = stored(Verdict.REJECTED, 2)
    old_accepted = stored(Verdict.ACCEPTED, 90, message_id="m-1")
    old_duplicate = stored(Verdict.DUPLICATE, 90)
    old_retry = stored(Verdict.RETRY, 90)

    log = tmp_path / "prune.log"
    assert processes.run(["-m", "paydesk", "ipn", "prune", "--refused-older-than", "30"], log=log) == 0, (
        log.read_text()
    )

    assert "deleted 2 refused requests" in log.read_text()
    left = set(Notification.objects.values_list("pk", flat=True))
    assert left == {recent_forgery, old_accepted, old_duplicate, old_retry}
    assert not {old_forgery, old_garbage} & left


def test_paydesk_demo_keeps_its_own_database_whatever_database_url_says(transactional_db, tmp_path):
    """On a store's machine with DATABASE_URL exported, the demo used to write its sandbox
    credentials into the store's settings and add a superuser there."""
    from django.contrib.auth.models import User

    from paydesk.amazonpay.models import AmazonPaySettings

    store = AmazonPaySettings.load()
    store.environment, store.seller_id, store.access_key = "live", "A1LIVESELLER01", "AKIALIVEKEY00000001"
    store.save()
    demo_dir = tmp_path / "demo"
    demo, log, _port = start_demo(tmp_path, "--data-dir", str(demo_dir))  # DATABASE_URL: this test's database
    try:
        processes.eventually(lambda: "Paydesk demo is running" in log.read_text(), what="the demo", log=log)
    finally:
        processes.stop(demo)
    store = AmazonPaySettings.load()
    assert (store.seller_id, store.access_key, store.environment) == (
        "A1LIVESELLER01",
        "AKIALIVEKEY00000001",
        "live",
    )
    assert not User.objects.filter(username="staff").exists()
    assert (demo_dir / "paydesk.sqlite3").exists() and "DATABASE_URL is ignored" in log.read_text()


def test_paydesk_demo_reset_deletes_only_a_directory_the_demo_made(tmp_path):
    store_dir = tmp_path / "var"
    store_dir.mkdir()
    (store_dir / "paydesk.sqlite3").write_text("the store's real database")
    log = tmp_path / "demo.log"
    status = processes.run(
        ["-m", "paydesk", "demo", "--reset", "--data-dir", str(store_dir)], log=log, timeout=60
    )
    assert status == 2 and "nothing was changed" in log.read_text()
    assert (store_dir / "paydesk.sqlite3").read_text() == "the store's real database"
    # Nor does it run there (and mark the folder as its own for a later --reset).
    assert processes.run(["-m", "paydesk", "demo", "--data-dir", str(store_dir)], log=log, timeout=60) == 2
    assert sorted(f.name for f in store_dir.iterdir()) == ["paydesk.sqlite3"]


def test_paydesk_serve_stops_cleanly_on_sigterm(transactional_db, tmp_path):
    import signal

    import httpx

    port = _free_port()
    log = tmp_path / "serve.log"
    server = processes.start(["-m", "paydesk", "serve", "--no-migrate", "--port", str(port)], log=log)
    try:
        processes.eventually(lambda: "is serving on" in log.read_text(), what="serve starting", log=log)
        assert httpx.get(f"http://127.0.0.1:{port}/login/", timeout=10).status_code == 200
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0, log.read_text()
    finally:
        processes.stop(server)


def test_a_reconcile_worker_started_before_the_settings_waits_for_them(transactional_db, tmp_path):
    import signal

    log = tmp_path / "reconcile.log"
    worker = processes.start(["-m", "paydesk", "reconcile", "--no-progress"], log=log)
    try:
        processes.eventually(
            lambda: "not configured yet" in log.read_text(), what="the worker waiting", log=log
        )
        assert worker.poll() is None and "waiting" in log.read_text()  # still there, not exited
        worker.send_signal(signal.SIGTERM)
        assert worker.wait(timeout=60) == 0
    finally:
        processes.stop(worker)


def test_paydesk_demo_answers_on_the_address_it_was_given(tmp_path):
    import httpx

    demo, log, port = start_demo(tmp_path, "--host", "127.0.0.2", "--data-dir", str(tmp_path / "demo"))
    try:
        processes.eventually(lambda: "Paydesk demo is running" in log.read_text(), what="the demo", log=log)
        assert httpx.get(f"http://127.0.0.2:{port}/login/", timeout=10).status_code == 200
    finally:
        processes.stop(demo)


def start_demo(tmp_path, *args: str):
    """A `paydesk demo` process with no orders and no reconciler: (process, log, web port)."""
    log = tmp_path / "demo.log"
    port = _free_port()
    command = ["-m", "paydesk", "demo", "--orders", "0", "--no-reconcile", "--port", str(port)]
    demo = processes.start([*command, "--sandbox-port", str(_free_port()), *args], log=log)
    return demo, log, port


def _folder(tmp_path, name, *, seller=None, extra=()):
    import sqlite3

    folder = tmp_path / name
    folder.mkdir()
    (folder / "sandbox.sqlite3").write_text("")
    (folder / "secret_key").write_text("k")
    if seller is not None:
        with sqlite3.connect(folder / "paydesk.sqlite3") as db:
            db.execute("CREATE TABLE amazonpay_amazonpaysettings (id INTEGER PRIMARY KEY, seller_id TEXT)")
            db.execute("INSERT INTO amazonpay_amazonpaysettings VALUES (1, ?)", [seller])
    for file in extra:
        (folder / file).write_text("x")
    return folder


def test_only_a_folder_the_demo_made_counts_as_the_demos(tmp_path):
    from paydesk.demo.cli import _made_by_the_demo
    from paydesk.sandbox import DEMO_SELLER_ID

    # A demo folder from before the marker: the demo's files and the demo seller.
    assert _made_by_the_demo(_folder(tmp_path, "old-demo", seller=DEMO_SELLER_ID))
    # A store's data folder that also keeps a sandbox state file (docs/sandbox.md's --state).
    assert not _made_by_the_demo(_folder(tmp_path, "store", seller="A1STORESELLER01"))
    assert not _made_by_the_demo(
        _folder(tmp_path, "store-with-more", seller=DEMO_SELLER_ID, extra=["orders.csv"])
    )
    unreadable = _folder(tmp_path, "unreadable")
    (unreadable / "paydesk.sqlite3").write_text("THE STORE'S ORDERS")
    assert not _made_by_the_demo(unreadable)


def test_paydesk_demo_reset_leaves_a_store_folder_with_a_sandbox_state_file_alone(tmp_path):
    store = _folder(tmp_path, "var", seller="A1STORESELLER01")
    log = tmp_path / "demo.log"
    assert (
        processes.run(["-m", "paydesk", "demo", "--reset", "--data-dir", str(store)], log=log, timeout=60)
        == 2
    )
    assert (store / "paydesk.sqlite3").exists() and (store / "secret_key").read_text() == "k"
