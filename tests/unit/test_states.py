from datetime import UTC, datetime, timedelta

import pytest

from paydesk.payments.states import AUTHORIZATION, ORDER_REFERENCE, Kind, Verdict, judge

T0 = datetime(2026, 1, 1, tzinfo=UTC)
LATER = T0 + timedelta(seconds=5)


def test_terminal_states_are_those_with_no_way_out():
    assert AUTHORIZATION.terminal == {"Declined", "Closed"}
    assert ORDER_REFERENCE.terminal == {"Canceled", "Closed"}


def test_a_newer_state_advances():
    assert judge(Kind.AUTHORIZATION, "Pending", T0, "Open", LATER) is Verdict.ADVANCE


def test_a_state_reached_through_unseen_states_still_advances():
    # Pending -> Open -> Closed, with the Open notification lost.
    assert judge(Kind.AUTHORIZATION, "Pending", T0, "Closed", LATER) is Verdict.ADVANCE


def test_an_older_report_never_moves_an_object_backwards():
    assert judge(Kind.AUTHORIZATION, "Open", LATER, "Pending", T0) is Verdict.STALE
    assert judge(Kind.CAPTURE, "Completed", LATER, "Pending", T0) is Verdict.STALE


def test_a_terminal_state_stays_even_against_a_later_timestamp():
    assert judge(Kind.REFUND, "Completed", T0, "Pending", LATER) is Verdict.STALE
    assert judge(Kind.AUTHORIZATION, "Closed", T0, "Open", LATER) is Verdict.STALE


def test_suspended_and_open_follow_the_timestamp_both_ways():
    assert judge(Kind.ORDER_REFERENCE, "Suspended", T0, "Open", LATER) is Verdict.ADVANCE
    assert judge(Kind.ORDER_REFERENCE, "Open", T0, "Suspended", LATER) is Verdict.ADVANCE
    assert judge(Kind.ORDER_REFERENCE, "Open", LATER, "Suspended", T0) is Verdict.STALE


def test_the_same_state_with_a_newer_timestamp_refreshes_details():
    assert judge(Kind.CAPTURE, "Completed", T0, "Completed", LATER) is Verdict.REFRESH
    assert judge(Kind.CAPTURE, "Completed", LATER, "Completed", LATER) is Verdict.STALE


def test_an_unknown_outcome_takes_whatever_amazon_reports():
    assert judge(Kind.CAPTURE, "Unknown", None, "Declined", T0) is Verdict.ADVANCE


def test_a_state_amazon_does_not_have_is_an_error():
    with pytest.raises(ValueError, match="not a state"):
        judge(Kind.REFUND, "Pending", T0, "Open", LATER)
