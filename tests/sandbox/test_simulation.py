"""Amazon's sandbox simulation strings (docs/amazon-pay-v1.md §6)."""

import json

import pytest

from paydesk.sandbox import simulation
from paydesk.sandbox.errors import AmazonError
from paydesk.sandbox.model import Outcome


def declined(reason: str, **extra: object) -> str:
    return json.dumps({"SandboxSimulation": {"State": "Declined", "ReasonCode": reason, **extra}})


def test_an_ordinary_note_is_not_a_simulation():
    assert simulation.authorization_outcome("Thank you for your order") is None
    assert simulation.authorization_outcome(None) is None


def test_a_hard_decline_with_a_payment_method_update_time_is_understood():
    note = declined("InvalidPaymentMethod", PaymentMethodUpdateTimeInMins=5)
    assert simulation.authorization_outcome(note) == Outcome(
        "Declined", "InvalidPaymentMethod", False, 5, None
    )


def test_a_soft_decline_is_written_with_a_quoted_true():
    note = declined("InvalidPaymentMethod", PaymentMethodUpdateTimeInMins=1, SoftDecline="true")
    outcome = simulation.authorization_outcome(note)
    assert outcome is not None and outcome.soft_decline


@pytest.mark.parametrize(
    ("reason", "extra"),
    [("AmazonRejected", ""), ("TransactionTimedOut", ""), ("ProcessingFailure", "")],
)
def test_the_other_authorization_declines_are_understood(reason: str, extra: str):
    outcome = simulation.authorization_outcome(
        f'{{"SandboxSimulation": {{"State":"Declined", "ReasonCode":"{reason}"}}}}'
    )
    assert outcome == Outcome("Declined", reason)


def test_an_expiring_authorization_needs_its_minutes():
    note = '{"SandboxSimulation": {"State":"Closed", "ReasonCode":"ExpiredUnused", "ExpirationTimeInMins":1}}'
    assert simulation.authorization_outcome(note) == Outcome("Closed", "ExpiredUnused", expiration_minutes=1)
    with pytest.raises(AmazonError):
        simulation.authorization_outcome(
            '{"SandboxSimulation": {"State":"Closed", "ReasonCode":"ExpiredUnused"}}'
        )


@pytest.mark.parametrize(
    "note",
    [
        '{"SandboxSimulation": {"State":"Declined", "ReasonCode":"AmazonRejected"}',  # broken JSON
        '{"SandboxSimulation": {"State":"Open"}}',  # not a simulatable outcome
        '{"SandboxSimulation": {"State":"Declined", "ReasonCode":"NoSuchReason"}}',
        declined("InvalidPaymentMethod", PaymentMethodUpdateTimeInMins=241),
        declined("InvalidPaymentMethod", SoftDecline="maybe"),
        '{"SandboxSimulation": {"State":"Declined", "ReasonCode":"AmazonRejected", "Colour":"red"}}',
        '{"SandboxSimulation": "Declined"}',
        '["SandboxSimulation"]',
    ],
)
def test_a_malformed_simulation_is_refused_with_amazons_error(note: str):
    with pytest.raises(AmazonError) as refused:
        simulation.authorization_outcome(note)
    assert refused.value.code == "InvalidSandboxSimulationSpecified"
    assert refused.value.status == 400


def test_capture_refund_and_closure_simulations_accept_only_their_own_outcomes():
    assert simulation.capture_outcome('{"SandboxSimulation": {"State":"Pending"}}') == Outcome("Pending")
    assert simulation.refund_outcome(
        '{"SandboxSimulation": {"State":"Declined", "ReasonCode":"AmazonRejected"}}'
    )
    assert simulation.closure_outcome(
        '{"SandboxSimulation": {"State":"Closed", "ReasonCode":"AmazonClosed"}}'
    )
    with pytest.raises(AmazonError):
        simulation.refund_outcome('{"SandboxSimulation": {"State":"Pending"}}')


def test_the_payment_method_constraint_is_planted_through_the_seller_note():
    assert simulation.order_constraint('{"SandboxSimulation":{"Constraint":"PaymentMethodNotAllowed"}}') == (
        "PaymentMethodNotAllowed"
    )
    assert simulation.order_constraint("Gift wrap, please") is None
    with pytest.raises(AmazonError):
        simulation.order_constraint('{"SandboxSimulation":{"Constraint":"AmountNotSet"}}')
