"""A guard in front of the staff pages and the demo shop.

PostgreSQL text cannot hold a NUL character, so a path, query or form field carrying one would
fail deep in a query with a 500; it is refused here with a 400 before any view runs. The REST
API answers its own inputs with RFC 9457 problems, and the IPN endpoint keeps every request as
it came (escaped), so neither is touched here.
"""

from __future__ import annotations

from django.http import HttpResponseBadRequest

_FORMS = ("application/x-www-form-urlencoded", "multipart/form-data")
_OWN_INPUT_HANDLING = ("/api/", "/amazonpay/ipn/")


def _carries_nul(params) -> bool:
    return any("\x00" in key or any("\x00" in value for value in values) for key, values in params.lists())


class RefuseNulCharacters:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if not request.path.startswith(_OWN_INPUT_HANDLING) and (
            "\x00" in request.path
            or _carries_nul(request.GET)
            or (request.content_type in _FORMS and _carries_nul(request.POST))
        ):
            return HttpResponseBadRequest(
                "This request carries a NUL character, which no field here can hold.",
                content_type="text/plain; charset=utf-8",
            )
        return self.get_response(request)
