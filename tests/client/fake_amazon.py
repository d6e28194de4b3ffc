"""A scripted stand-in for Amazon behind httpx.MockTransport, for unit tests of the client.

Each request is decoded as a server would decode it and its signature is checked with Amazon's
own Python SDK routine; the reply is the next scripted one: (status, body) or an exception to
raise - optionally after "acting", to play a reply lost on the way back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

from tests.client.samples import form_fields, sample, sdk_signature

SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYzEXAMPLEKEY"


@dataclass
class Seen:
    url: httpx.URL
    host_header: str
    fields: dict[str, str]

    @property
    def action(self) -> str:
        return self.fields["Action"]


Reply = tuple[int, bytes] | Callable[[httpx.Request], Exception]


@dataclass
class FakeAmazon:
    replies: list[Reply] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    secret_key: str = field(default=SECRET, repr=False)

    def reply(self, status: int, body: bytes | str) -> FakeAmazon:
        self.replies.append((status, body if isinstance(body, bytes) else sample(body)))
        return self

    def fail(self, error: type[httpx.TransportError], message: str = "simulated") -> FakeAmazon:
        self.replies.append(lambda request: error(message, request=request))
        return self

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self._handle)

    def _handle(self, request: httpx.Request) -> httpx.Response:
        fields = form_fields(request.content)
        # The URL the client signed for is what the request went to.
        url = f"{request.url.scheme}://{request.headers['host']}{request.url.path}"
        assert fields["Signature"] == sdk_signature(fields, endpoint_url=url, secret_key=self.secret_key)
        self.seen.append(Seen(request.url, request.headers["host"], fields))
        if not self.replies:
            raise AssertionError(f"unexpected request {fields['Action']}")
        reply = self.replies.pop(0)
        if callable(reply):
            raise reply(request)
        status, body = reply
        return httpx.Response(status, content=body, headers={"Content-Type": "text/xml"})
