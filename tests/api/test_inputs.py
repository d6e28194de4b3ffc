"""What the OpenAPI document promises about the Idempotency-Key header is what the API
accepts: checked for arbitrary header values, not just a few examples."""

from __future__ import annotations

from django.test import RequestFactory
from hypothesis import example, given
from hypothesis import strategies as st

from paydesk.api.inputs import IDEMPOTENCY_HEADER, idempotency_key
from paydesk.api.problems import ApiProblem

# Header values as HTTP carries them: Latin-1 text without line breaks or surrounding spaces.
header_values = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, blacklist_characters="\x7f"), max_size=70
).filter(lambda v: v == v.strip())


def _accepted(value: str) -> bool:
    request = RequestFactory().post("/", headers={"Idempotency-Key": value})
    try:
        idempotency_key(request)
    except ApiProblem:
        return False
    return True


@given(header_values | st.from_regex(IDEMPOTENCY_HEADER, fullmatch=True))
@example('"' + "k" * 64 + '"')
@example('"' + "k" * 65 + '"')
@example('""')
@example('"a"')
@example("a b")
def test_the_documented_header_pattern_is_exactly_what_is_accepted(value):
    assert _accepted(value) == bool(IDEMPOTENCY_HEADER.match(value))


def test_a_quoted_key_is_the_key_without_its_quotes():
    request = RequestFactory().post("/", headers={"Idempotency-Key": '"order-7-capture"'})
    assert idempotency_key(request) == "order-7-capture"
