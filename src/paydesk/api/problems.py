"""Errors as RFC 9457 problem details (`application/problem+json`).

Every error the API answers is one of the problem types below. A type with a slug has its
own URI, `/api/v1/problems/<slug>`, which serves its description (RFC 9457 §3.1.1: the type
is a URI reference that, dereferenced, documents the problem). Plain HTTP errors use
`about:blank`, whose title is the HTTP status phrase (RFC 9457 §4.2.1).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import JsonResponse

PROBLEM_CONTENT_TYPE = "application/problem+json"
PROBLEMS_PATH = "/api/v1/problems/"


@dataclass(frozen=True)
class ProblemType:
    status: int
    title: str
    description: str
    slug: str = ""

    @property
    def uri(self) -> str:
        return PROBLEMS_PATH + self.slug if self.slug else "about:blank"


INVALID_REQUEST = ProblemType(
    400,
    "Invalid request",
    "A parameter or body field is missing, has the wrong type or the wrong format. "
    "`field` names it; `detail` says what was expected.",
    "invalid-request",
)
IDEMPOTENCY_KEY_REQUIRED = ProblemType(
    400,
    "Idempotency-Key header required",
    "Every POST needs an Idempotency-Key header: 1 to 64 visible ASCII characters, new for "
    "each action you mean to run once (a UUID is a good choice).",
    "idempotency-key-required",
)
UNAUTHORIZED = ProblemType(401, "Unauthorized", "No valid bearer token.")
FORBIDDEN = ProblemType(403, "Forbidden", "The token's user lacks the permission.")
NOT_FOUND = ProblemType(404, "Not Found", "No such resource.")
METHOD_NOT_ALLOWED = ProblemType(405, "Method Not Allowed", "The Allow header lists the methods.")
ACTION_REFUSED = ProblemType(
    409,
    "Action refused",
    "The order's payment does not allow this action now (its state, or one of Amazon's limits "
    "that Paydesk checks before calling Amazon). Nothing was sent to Amazon. `detail` says why "
    "and what to do; fetch the order to see its current state and available actions.",
    "action-refused",
)
IDEMPOTENCY_KEY_IN_USE = ProblemType(
    409,
    "Request with this Idempotency-Key still running",
    "An earlier request with the same Idempotency-Key has not finished yet. Retry the same "
    "request after a moment: once the first one is done you get its reply.",
    "idempotency-key-in-use",
)
CONTENT_TOO_LARGE = ProblemType(413, "Content Too Large", "The request body is too large.")
UNSUPPORTED_MEDIA_TYPE = ProblemType(415, "Unsupported Media Type", "Send the body as application/json.")
IDEMPOTENCY_KEY_REUSED = ProblemType(
    422,
    "Idempotency-Key already used for a different request",
    "This Idempotency-Key was already used, by the same user, for a request with a different "
    "method, path or body. Nothing was done. Use a new key for a new action.",
    "idempotency-key-reused",
)
INVALID_AMOUNT = ProblemType(
    422,
    "Amount not acceptable",
    "The amount is a well-formed decimal string but not one this order can use: more decimals "
    "than its currency has (JPY has none), or zero. `field` names it.",
    "invalid-amount",
)
SERVER_ERROR = ProblemType(500, "Internal Server Error", "Paydesk failed; the error is logged.")

CATALOG: tuple[ProblemType, ...] = (
    INVALID_REQUEST,
    IDEMPOTENCY_KEY_REQUIRED,
    UNAUTHORIZED,
    FORBIDDEN,
    NOT_FOUND,
    METHOD_NOT_ALLOWED,
    ACTION_REFUSED,
    IDEMPOTENCY_KEY_IN_USE,
    CONTENT_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    IDEMPOTENCY_KEY_REUSED,
    INVALID_AMOUNT,
    SERVER_ERROR,
)
DOCUMENTED = {p.slug: p for p in CATALOG if p.slug}


@dataclass
class ApiProblem(Exception):
    """Raised anywhere under a view to answer with a problem; `extensions` are extra members
    (RFC 9457 §3.2) such as `field`."""

    kind: ProblemType
    detail: str
    extensions: dict = field(default_factory=dict)
    headers: dict = field(default_factory=dict)

    def __str__(self) -> str:
        return f"{self.kind.status} {self.kind.title}: {self.detail}"

    def body(self) -> dict:
        return {
            "type": self.kind.uri,
            "title": self.kind.title,
            "status": self.kind.status,
            "detail": self.detail,
            **self.extensions,
        }

    def response(self) -> JsonResponse:
        response = JsonResponse(self.body(), status=self.kind.status, content_type=PROBLEM_CONTENT_TYPE)
        for name, value in self.headers.items():
            response[name] = value
        return response


def invalid(field_name: str, detail: str) -> ApiProblem:
    return ApiProblem(INVALID_REQUEST, detail, {"field": field_name})
