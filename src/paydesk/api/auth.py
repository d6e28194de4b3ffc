"""Who is calling: `Authorization: Bearer <token>`, and nothing else.

The API takes no session cookie, so a browser that is logged in to the staff pages cannot be
tricked into calling it (no CSRF exposure); that is why its views are CSRF-exempt. The
permissions are the staff pages' own: `orders.view_order` to read, `orders.operate_payments`
to act.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt

from paydesk.api import problems
from paydesk.api.problems import ApiProblem
from paydesk.api.tokens import bearer_token, user_for
from paydesk.orders.models import OPERATE_PAYMENTS, VIEW_ORDERS

log = logging.getLogger("paydesk.api")

VIEW = VIEW_ORDERS
OPERATE = OPERATE_PAYMENTS
# RFC 6750 §3: a 401 names the scheme, and says `invalid_token` when a token was sent.
_CHALLENGE = 'Bearer realm="Paydesk API"'


def authenticate(request: HttpRequest):
    header = request.headers.get("Authorization", "")
    if not header.strip():
        raise ApiProblem(
            problems.UNAUTHORIZED,
            "Send an API token: `Authorization: Bearer <token>` (`paydesk manage create_api_token USER`).",
            headers={"WWW-Authenticate": _CHALLENGE},
        )
    token = bearer_token(header)
    user = user_for(token) if token else None
    if user is None:
        raise ApiProblem(
            problems.UNAUTHORIZED,
            "The bearer token is malformed, unknown or revoked, or its user is inactive.",
            headers={"WWW-Authenticate": f'{_CHALLENGE}, error="invalid_token"'},
        )
    return user


def endpoint(*, methods: tuple[str, ...], permissions: tuple[str, ...] = (), public: bool = False):
    """An API view: only `methods`, a bearer token whose user has `permissions` (unless
    `public`), and every error answered as a problem document. The view gets the user as
    `request.api_user`."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def run(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            try:
                if request.method not in methods:
                    raise ApiProblem(
                        problems.METHOD_NOT_ALLOWED,
                        f"{request.method} is not allowed here; use {' or '.join(methods)}.",
                        headers={"Allow": ", ".join(methods)},
                    )
                if not public:
                    user = authenticate(request)
                    for permission in permissions:
                        if not user.has_perm(permission):
                            raise ApiProblem(
                                problems.FORBIDDEN,
                                f"User {user.get_username()!r} lacks the permission {permission!r}.",
                            )
                    request.api_user = user
                return view(request, *args, **kwargs)
            except ApiProblem as problem:
                return problem.response()
            except Exception:
                # A bug of ours: logged with its traceback, answered as a problem document
                # like every other error so clients need only one error format.
                log.exception("API %s %s failed", request.method, request.path)
                return ApiProblem(
                    problems.SERVER_ERROR, "Paydesk could not answer this request; the error is logged."
                ).response()

        return csrf_exempt(run)

    return decorate
