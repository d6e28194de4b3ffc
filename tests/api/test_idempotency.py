"""Idempotency keys: a repeated request replays its reply without acting again, a key reused
for something else is refused, and two copies racing each other never both run."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from paydesk.amazonpay import services
from paydesk.amazonpay.models import PaymentEvent
from paydesk.api.models import IdempotentRequest
from paydesk.api.tokens import create_token
from tests.web.conftest import _user, add_txn, make_order
from tests.web.test_services import place

from .conftest import OPERATE, VIEW, Api, assert_problem

DEADLINE = 60  # seconds; generous, never a timing assertion


def _captures_at_amazon(sandbox, payment) -> list[str]:
    auth_id = payment.transactions.get(kind="authorization").amazon_id
    return sandbox.object_state(auth_id)["capture_ids"]


@pytest.fixture
def authorized(db):
    order, payment = make_order("1001", status="authorized")
    add_txn(payment, "authorization", "Open", "S01-1111111-2222222-A000001", "1001-a1", notified=True)
    return order


@pytest.mark.parametrize("key", [None, "", "   "])
def test_an_action_without_an_idempotency_key_is_400(api, authorized, key):
    headers = {} if key is None else {"Idempotency-Key": key}
    response = api.act("1001", "refresh", key=None, **headers)
    assert_problem(response, 400, type_suffix="/idempotency-key-required", field="Idempotency-Key")


@pytest.mark.parametrize("key", ["x" * 65, "two words", "tab\tkey", "ключ"])
def test_a_malformed_idempotency_key_is_400(api, authorized, key):
    response = api.client.post(
        "/api/v1/orders/1001/actions/refresh",
        headers={"Authorization": f"Bearer {api.token}", "Idempotency-Key": key},
    )
    assert_problem(response, 400, type_suffix="/idempotency-key-required")


def test_a_repeated_capture_replays_the_first_reply_and_captures_once(api, desk, sandbox):
    order, _, payment = place(sandbox)
    first = api.act(order.number, "capture", {"amount": "10.00"}, key="capture-1")
    events = PaymentEvent.objects.count()
    again = api.act(order.number, "capture", {"amount": "10.00"}, key="capture-1")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert len(_captures_at_amazon(sandbox, payment)) == 1
    assert PaymentEvent.objects.count() == events  # the service was not called again


def test_a_refusal_is_replayed_too_even_after_the_order_changed(api, authorized):
    first = api.act("1001", "refund", key="k-1")
    assert_problem(first, 409, type_suffix="/action-refused")
    payment = authorized.amazon_payment
    add_txn(payment, "capture", "Completed", "S01-1111111-2222222-C000001", "1001-c1", parent="x")
    again = api.act("1001", "refund", key="k-1")
    assert again.status_code == 409 and again.content == first.content
    assert again["Idempotent-Replayed"] == "true"


def test_the_same_key_with_a_different_body_or_action_is_422(api, desk, sandbox):
    order, _, payment = place(sandbox)
    api.act(order.number, "capture", {"amount": "10.00"}, key="k-1")
    body = assert_problem(
        api.act(order.number, "capture", {"amount": "11.00"}, key="k-1"),
        422,
        type_suffix="/idempotency-key-reused",
    )
    assert "k-1" in body["detail"] and body["field"] == "Idempotency-Key"
    assert_problem(api.act(order.number, "void", key="k-1"), 422)
    assert len(_captures_at_amazon(sandbox, payment)) == 1


def test_a_key_quoted_as_a_structured_field_string_is_the_same_key(api, desk, sandbox):
    order, _, _ = place(sandbox)
    first = api.act(order.number, "capture", key="abc-123")
    again = api.act(order.number, "capture", key='"abc-123"')
    assert again["Idempotent-Replayed"] == "true" and again.content == first.content


def test_keys_belong_to_their_user(api, desk, sandbox):
    order, _, payment = place(sandbox)
    colleague = Api(create_token(_user("ursula", VIEW, OPERATE))[1])
    assert api.act(order.number, "capture", {"amount": "10.00"}, key="shared").json()["outcome"] == "done"
    # Same key from someone else is their own request: it runs (and is refused by the rules,
    # since the authorization was captured), rather than replaying otto's reply.
    other = colleague.act(order.number, "capture", {"amount": "10.00"}, key="shared")
    assert_problem(other, 409, type_suffix="/action-refused")
    assert len(_captures_at_amazon(sandbox, payment)) == 1


def test_validation_errors_do_not_use_up_the_key(api, authorized):
    assert_problem(api.act("1001", "capture", {"amount": "ten"}, key="k-1"), 400)
    assert not IdempotentRequest.objects.exists()


def test_a_request_still_running_answers_409_with_retry_after(api, operator_user, authorized):
    IdempotentRequest.objects.create(
        user=operator_user,
        key="busy",
        fingerprint=_fingerprint("/api/v1/orders/1001/actions/refresh", {}),
        method="POST",
        path="/api/v1/orders/1001/actions/refresh",
    )
    response = api.act("1001", "refresh", key="busy")
    assert_problem(response, 409, type_suffix="/idempotency-key-in-use")
    assert response["Retry-After"]


def test_a_key_left_running_by_a_dead_process_is_taken_over(api, operator_user, authorized):
    IdempotentRequest.objects.create(
        user=operator_user,
        key="orphan",
        fingerprint=_fingerprint("/api/v1/orders/1001/actions/refund", {}),
        method="POST",
        path="/api/v1/orders/1001/actions/refund",
        started_at=timezone.now() - timedelta(minutes=30),
    )
    response = api.act("1001", "refund", key="orphan")
    # It ran: the rules refused the refund (nothing captured), not the idempotency check.
    assert_problem(response, 409, type_suffix="/action-refused")
    assert IdempotentRequest.objects.get(key="orphan").finished_at is not None


def _fingerprint(path: str, body: dict) -> str:
    from paydesk.api.idempotency import fingerprint

    return fingerprint("POST", path, body)


def _crash_after_the_service(monkeypatch):
    """Our own code fails after the payment service ran (Amazon captured); returns the real
    `run_action` to put back."""
    real = services.run_action

    def capture_then_crash(*args, **kwargs):
        real(*args, **kwargs)
        raise RuntimeError("crashed after the service ran")

    monkeypatch.setattr(services, "run_action", capture_then_crash)
    return real


def test_a_crash_in_our_code_frees_the_key_and_the_retry_does_not_capture_twice(
    api, desk, sandbox, monkeypatch
):
    order, _, payment = place(sandbox)
    real = _crash_after_the_service(monkeypatch)
    crashed = api.act(order.number, "capture", key="k-crash")
    assert_problem(crashed, 500)
    assert IdempotentRequest.objects.get(key="k-crash").finished_at is None
    monkeypatch.setattr(services, "run_action", real)
    retried = api.act(order.number, "capture", key="k-crash")
    # The payment service kept the key on its capture: the retry is that capture, not a new one.
    assert retried.status_code == 200 and retried.json()["outcome"] == "done"
    assert len(_captures_at_amazon(sandbox, payment)) == 1


def test_after_a_crash_the_key_still_belongs_to_its_request(api, desk, sandbox, monkeypatch):
    """A released key keeps its request's fingerprint: a different request with it is refused
    instead of being answered with the crashed request's capture, and the original retry still
    runs (and is answered with the one capture made)."""
    order, _, payment = place(sandbox)
    real = _crash_after_the_service(monkeypatch)
    assert_problem(api.act(order.number, "capture", {"amount": "10.00"}, key="k-crash"), 500)
    monkeypatch.setattr(services, "run_action", real)
    other = api.act(order.number, "capture", {}, key="k-crash")
    assert_problem(other, 422, type_suffix="/idempotency-key-reused")
    retried = api.act(order.number, "capture", {"amount": "10.00"}, key="k-crash")
    assert retried.status_code == 200
    assert retried.json()["transaction"]["amount"] == {"amount": "10.00", "currency": "USD"}
    assert len(_captures_at_amazon(sandbox, payment)) == 1


def test_a_failure_while_storing_the_reply_frees_the_key_for_the_retry(api, desk, sandbox, monkeypatch):
    from paydesk.api import idempotency

    order, _, payment = place(sandbox)
    real_finish = idempotency.finish

    def finish_fails(*args, **kwargs):
        raise RuntimeError("the database went away while storing the reply")

    monkeypatch.setattr(idempotency, "finish", finish_fails)
    assert_problem(api.act(order.number, "capture", key="k-store"), 500)
    monkeypatch.setattr(idempotency, "finish", real_finish)
    retried = api.act(order.number, "capture", key="k-store")  # not 409 for ten minutes
    assert retried.status_code == 200 and retried.json()["outcome"] == "done"
    assert len(_captures_at_amazon(sandbox, payment)) == 1


# --- concurrency: real threads, each with its own database connection ------------------------


def _in_thread(call, results: list, index: int) -> None:
    try:
        results[index] = call()
    finally:
        connection.close()


@pytest.mark.django_db(transaction=True)
def test_a_second_copy_arriving_while_the_first_runs_gets_409_then_the_replay(
    api, desk, sandbox, monkeypatch
):
    order, _, payment = place(sandbox)
    real = services.run_action
    inside, release = threading.Event(), threading.Event()

    def held_capture(*args, **kwargs):
        inside.set()
        assert release.wait(DEADLINE)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "run_action", held_capture)
    results: list = [None]
    first = threading.Thread(
        target=_in_thread, args=(lambda: api.act(order.number, "capture", key="race"), results, 0)
    )
    first.start()
    try:
        assert inside.wait(DEADLINE)
        second = api.act(order.number, "capture", key="race")
        assert_problem(second, 409, type_suffix="/idempotency-key-in-use")
    finally:
        release.set()
        first.join(DEADLINE)
    assert results[0].status_code == 200 and results[0].json()["outcome"] == "done"
    third = api.act(order.number, "capture", key="race")
    assert third.content == results[0].content and third["Idempotent-Replayed"] == "true"
    assert len(_captures_at_amazon(sandbox, payment)) == 1


@pytest.mark.django_db(transaction=True)
def test_simultaneous_copies_of_one_request_run_the_action_once(api, desk, sandbox, monkeypatch):
    order, _, payment = place(sandbox)
    real = services.run_action
    calls = []

    def counted_capture(*args, **kwargs):
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(services, "run_action", counted_capture)
    copies = 6
    start = threading.Barrier(copies)
    results: list = [None] * copies

    def send():
        start.wait(DEADLINE)
        return Api(api.token).act(order.number, "capture", key="burst")

    threads = [threading.Thread(target=_in_thread, args=(send, results, i)) for i in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(DEADLINE)
    statuses = sorted(r.status_code for r in results)
    assert len(calls) == 1
    assert set(statuses) <= {200, 409} and 200 in statuses
    done = [r for r in results if r.status_code == 200]
    assert all(r.content == done[0].content for r in done)
    assert len(_captures_at_amazon(sandbox, payment)) == 1
