"""The Amazon Pay v1 client: one method per operation, typed results, errors that can be told apart.

    with AmazonPayClient(seller_id=..., access_key=..., secret_key=..., region="eu") as amazon:
        authorization = amazon.authorize(
            "S02-1234567-1234567",
            authorization_reference_id="order-1042-auth-1",  # generated and stored first
            amount=Money(Decimal("25.00"), "EUR"),
        )

What happens on each call:

1. The arguments are checked (`paydesk.amazonpay.parameters`); values Amazon would refuse raise
   `InvalidRequest` before anything is sent.
2. The optional rate limiter is asked for a token, the request is signed (Signature Version 2,
   fresh Timestamp) and POSTed over a pooled httpx connection.
3. Amazon's reply becomes a frozen dataclass from `paydesk.amazonpay.details`, or a typed
   exception from `paydesk.amazonpay.errors`.

Retries. HTTP 500/502/503/504 (incl. RequestThrottled) and network failures are retried with
exponential backoff and jitter, bounded by `RetryPolicy` in attempts and total time. Every
attempt sends exactly the same operation parameters - only Timestamp and Signature are
renewed, as Amazon's SDKs do - so a retried Authorize, Capture or Refund carries the same
reference id and amount, and Amazon documents those calls as idempotent on that: "If called
multiple times, with unchanged parameters (including AuthorizationReferenceId / CaptureReferenceId),
the same result is produced" (developer.amazon.com/docs/amazon-pay-api/authorize.html,
capture.html; refund.html likewise for RefundReferenceId). A retry therefore never moves money
twice. The other state-changing calls (Set..., Confirm, Cancel, Close...) set a state or a value,
which repeating cannot change further.

Unknown outcome. Once any attempt of a state-changing call may have reached Amazon without a
usable reply (read timeout, dropped connection, HTTP 500/502/504, an unreadable 200), only a
later successful reply settles the outcome. If the retries end otherwise - exhausted, or a
refusal that the first attempt may itself have caused (an authorization already captured makes
a replayed Capture look invalid) - the client raises `OutcomeUnknown` and the caller refreshes
instead of guessing. Read-only calls simply raise the last failure.

Secrets. The secret key lives in a `SecretKey` whose repr is masked; the client's repr,
exceptions and log lines never contain it or the Signature. Log lines (logger
"paydesk.amazonpay") carry operation, ids, HTTP status, duration and attempt; at DEBUG also the
request parameters and the reply with notes and buyer data masked as Amazon's SDKs mask them.
"""

from __future__ import annotations

import logging
import platform
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Generic, TypeVar

import httpx

from paydesk import __version__
from paydesk.amazonpay import parameters as params
from paydesk.amazonpay.details import Authorization, Capture, OrderReference, Refund, ServiceStatus
from paydesk.amazonpay.errors import (
    AmazonApiError,
    AmazonPayError,
    InternalError,
    OutcomeUnknown,
    ReplyError,
    TransportError,
)
from paydesk.amazonpay.redaction import masked_parameters, masked_reply
from paydesk.amazonpay.regions import Region, endpoint_for, region_named
from paydesk.amazonpay.replies import (
    error_from_reply,
    parse_authorization,
    parse_capture,
    parse_order_reference,
    parse_refund,
    parse_service_status,
    read_details_reply,
    read_empty_reply,
    read_reply,
)
from paydesk.amazonpay.retry import RateLimiter, RetryPolicy
from paydesk.amazonpay.signing import SecretKey, form_body, signed_parameters
from paydesk.payments.money import Money

logger = logging.getLogger("paydesk.amazonpay")

T = TypeVar("T")

# Java SDK: 30 s connect/read timeouts. A synchronous Authorize gives up after about 8 s on
# Amazon's side (docs/amazon-pay-v1.md §3.2), so 30 s of reading leaves room without hanging.
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)

# Failures that happen before a request is on the wire: Amazon cannot have seen it.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.UnsupportedProtocol)


@dataclass(frozen=True, slots=True)
class _Call:
    action: str
    parameters: Mapping[str, str]
    reads_only: bool
    amazon_id: str | None = None
    reference_id: str | None = None

    def ids(self) -> str:
        """The ids this call is about, for log lines and error messages (never notes or data)."""
        return " ".join(
            f"{name}={value}" for name, value in self.parameters.items() if name.endswith("Id") and value
        )


@dataclass(frozen=True, slots=True)
class _Settled(Generic[T]):
    """A reply that settled the call (as opposed to a failure to decide about)."""

    value: T


class AmazonPayClient:
    """A client for one seller account on Amazon Pay v1 (MWS "Off-Amazon Payments", 2013-01-01).

    `region` is "na", "eu", "uk" or "jp" (also "us", "de"); `sandbox` picks Amazon's sandbox
    path; `base_url` (e.g. "http://127.0.0.1:8001") replaces scheme, host and port - for
    `paydesk sandbox` - while the path still follows `sandbox`. `mws_auth_token` is only for
    calls made on a seller's behalf by a solution provider. `rate_limiter` (see
    `TokenBucketRateLimiter.for_amazon`) paces requests within Amazon's quotas; None sends at
    once. `transport` replaces httpx's network transport (tests); `sleep` and `clock` replace
    `time.sleep` and `time.monotonic` for the retry waits (tests).
    """

    def __init__(
        self,
        *,
        seller_id: str,
        access_key: str,
        secret_key: str | SecretKey,
        region: str | Region = "na",
        sandbox: bool = True,
        base_url: str | None = None,
        mws_auth_token: str | None = None,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retry: RetryPolicy | None = None,
        rate_limiter: RateLimiter | None = None,
        transport: httpx.BaseTransport | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._secret_key = secret_key if isinstance(secret_key, SecretKey) else SecretKey(secret_key)
        # From here on only the masked SecretKey exists in this frame, so a traceback that
        # shows local variables (a bad region, a bad base_url...) cannot show the key.
        del secret_key
        if not seller_id or not access_key:
            raise ValueError("seller_id and access_key are required")
        self._seller_id = seller_id
        self._access_key = access_key
        self._mws_auth_token = mws_auth_token
        self._region = region_named(region)
        self._sandbox = sandbox
        self._endpoint = endpoint_for(self._region, sandbox=sandbox, base_url=base_url)
        self._retry = retry if retry is not None else RetryPolicy()
        self._rate_limiter = rate_limiter
        self._sleep = sleep
        self._clock = clock
        self._http = httpx.Client(
            transport=transport,
            timeout=timeout,
            follow_redirects=False,
            headers={
                "Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
                "User-Agent": f"paydesk/{__version__} (Language=Python/{platform.python_version()})",
            },
        )

    # --- lifecycle ----------------------------------------------------------------------------

    @property
    def endpoint_url(self) -> str:
        return self._endpoint.url

    @property
    def sandbox(self) -> bool:
        return self._sandbox

    def close(self) -> None:
        """Close the pooled connections."""
        self._http.close()

    def __enter__(self) -> AmazonPayClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        # getattr: a repr may be asked for a half-built client (a traceback showing locals).
        endpoint = getattr(self, "_endpoint", None)
        url = endpoint.url if endpoint is not None else None
        return f"AmazonPayClient(seller_id={getattr(self, '_seller_id', None)!r}, endpoint={url!r})"

    def __reduce_ex__(self, protocol: object) -> object:
        raise TypeError("an AmazonPayClient holds credentials and is never pickled or copied")

    # --- order reference ----------------------------------------------------------------------

    def get_order_reference_details(
        self, amazon_order_reference_id: str, *, access_token: str | None = None
    ) -> OrderReference:
        """The order reference: state, total, buyer, destination, authorization ids, constraints.

        `access_token` (the buyer's Login with Amazon token) makes Amazon include the full
        destination address before the order reference is confirmed.
        """
        call = _Call(
            "GetOrderReferenceDetails",
            params.get_order_reference_details(amazon_order_reference_id, access_token=access_token),
            reads_only=True,
            amazon_id=amazon_order_reference_id,
        )
        return self._details(call, "OrderReferenceDetails", parse_order_reference)

    def set_order_reference_details(
        self,
        amazon_order_reference_id: str,
        *,
        amount: Money,
        seller_order_id: str | None = None,
        store_name: str | None = None,
        seller_note: str | None = None,
        custom_information: str | None = None,
        platform_id: str | None = None,
    ) -> OrderReference:
        """Set the order total and the seller's order attributes on a Draft order reference."""
        call = _Call(
            "SetOrderReferenceDetails",
            params.set_order_reference_details(
                amazon_order_reference_id,
                amount=amount,
                seller_order_id=seller_order_id,
                store_name=store_name,
                seller_note=seller_note,
                custom_information=custom_information,
                platform_id=platform_id,
            ),
            reads_only=False,
            amazon_id=amazon_order_reference_id,
        )
        return self._details(call, "OrderReferenceDetails", parse_order_reference)

    def set_order_attributes(
        self,
        amazon_order_reference_id: str,
        *,
        amount: Money | None = None,
        seller_order_id: str | None = None,
        store_name: str | None = None,
        seller_note: str | None = None,
        custom_information: str | None = None,
        platform_id: str | None = None,
        request_payment_authorization: bool | None = None,
    ) -> OrderReference:
        """Set order attributes; after confirmation Amazon only lets you add unset ones."""
        call = _Call(
            "SetOrderAttributes",
            params.set_order_attributes(
                amazon_order_reference_id,
                amount=amount,
                seller_order_id=seller_order_id,
                store_name=store_name,
                seller_note=seller_note,
                custom_information=custom_information,
                platform_id=platform_id,
                request_payment_authorization=request_payment_authorization,
            ),
            reads_only=False,
            amazon_id=amazon_order_reference_id,
        )
        return self._details(call, "OrderReferenceDetails", parse_order_reference)

    def confirm_order_reference(self, amazon_order_reference_id: str) -> None:
        """Draft -> Open. Raises `ConstraintsExist` while Amazon still lists constraints."""
        self._acknowledge(
            _Call(
                "ConfirmOrderReference",
                params.order_reference_only(amazon_order_reference_id),
                reads_only=False,
                amazon_id=amazon_order_reference_id,
            )
        )

    def cancel_order_reference(self, amazon_order_reference_id: str, *, reason: str | None = None) -> None:
        """Cancel the order reference (only while nothing has been captured); closes its authorizations."""
        self._acknowledge(
            _Call(
                "CancelOrderReference",
                params.cancel_order_reference(amazon_order_reference_id, reason=reason),
                reads_only=False,
                amazon_id=amazon_order_reference_id,
            )
        )

    def close_order_reference(self, amazon_order_reference_id: str, *, reason: str | None = None) -> None:
        """Close the order reference: no new authorizations; open ones can still be captured."""
        self._acknowledge(
            _Call(
                "CloseOrderReference",
                params.close_order_reference(amazon_order_reference_id, reason=reason),
                reads_only=False,
                amazon_id=amazon_order_reference_id,
            )
        )

    # --- authorization ------------------------------------------------------------------------

    def authorize(
        self,
        amazon_order_reference_id: str,
        *,
        authorization_reference_id: str,
        amount: Money,
        seller_note: str | None = None,
        transaction_timeout: int = 1440,
        capture_now: bool = False,
        soft_descriptor: str | None = None,
    ) -> Authorization:
        """Reserve `amount` on the buyer's payment method.

        `transaction_timeout` 0 asks for a synchronous answer (Open or Declined at once);
        otherwise the authorization starts Pending and its final state comes by IPN or
        `get_authorization_details`. A decline is returned, not raised: look at
        `authorization.status`. `seller_note` is also where sandbox simulation strings go.
        """
        call = _Call(
            "Authorize",
            params.authorize(
                amazon_order_reference_id,
                authorization_reference_id=authorization_reference_id,
                amount=amount,
                seller_note=seller_note,
                transaction_timeout=transaction_timeout,
                capture_now=capture_now,
                soft_descriptor=soft_descriptor,
            ),
            reads_only=False,
            amazon_id=amazon_order_reference_id,
            reference_id=authorization_reference_id,
        )
        return self._details(call, "AuthorizationDetails", parse_authorization)

    def get_authorization_details(self, amazon_authorization_id: str) -> Authorization:
        call = _Call(
            "GetAuthorizationDetails",
            params.authorization_only(amazon_authorization_id),
            reads_only=True,
            amazon_id=amazon_authorization_id,
        )
        return self._details(call, "AuthorizationDetails", parse_authorization)

    def close_authorization(self, amazon_authorization_id: str, *, reason: str | None = None) -> None:
        """Void an authorization that will not be captured (Open or Pending -> Closed/SellerClosed)."""
        self._acknowledge(
            _Call(
                "CloseAuthorization",
                params.close_authorization(amazon_authorization_id, reason=reason),
                reads_only=False,
                amazon_id=amazon_authorization_id,
            )
        )

    # --- capture ------------------------------------------------------------------------------

    def capture(
        self,
        amazon_authorization_id: str,
        *,
        capture_reference_id: str,
        amount: Money,
        seller_note: str | None = None,
        soft_descriptor: str | None = None,
    ) -> Capture:
        """Capture up to the authorized amount; Amazon allows one capture per authorization."""
        call = _Call(
            "Capture",
            params.capture(
                amazon_authorization_id,
                capture_reference_id=capture_reference_id,
                amount=amount,
                seller_note=seller_note,
                soft_descriptor=soft_descriptor,
            ),
            reads_only=False,
            amazon_id=amazon_authorization_id,
            reference_id=capture_reference_id,
        )
        return self._details(call, "CaptureDetails", parse_capture)

    def get_capture_details(self, amazon_capture_id: str) -> Capture:
        call = _Call(
            "GetCaptureDetails",
            params.capture_only(amazon_capture_id),
            reads_only=True,
            amazon_id=amazon_capture_id,
        )
        return self._details(call, "CaptureDetails", parse_capture)

    # --- refund -------------------------------------------------------------------------------

    def refund(
        self,
        amazon_capture_id: str,
        *,
        refund_reference_id: str,
        amount: Money,
        seller_note: str | None = None,
        soft_descriptor: str | None = None,
    ) -> Refund:
        """Refund part or all of a completed capture. The refund starts Pending."""
        call = _Call(
            "Refund",
            params.refund(
                amazon_capture_id,
                refund_reference_id=refund_reference_id,
                amount=amount,
                seller_note=seller_note,
                soft_descriptor=soft_descriptor,
            ),
            reads_only=False,
            amazon_id=amazon_capture_id,
            reference_id=refund_reference_id,
        )
        return self._details(call, "RefundDetails", parse_refund)

    def get_refund_details(self, amazon_refund_id: str) -> Refund:
        call = _Call(
            "GetRefundDetails",
            params.refund_only(amazon_refund_id),
            reads_only=True,
            amazon_id=amazon_refund_id,
        )
        return self._details(call, "RefundDetails", parse_refund)

    # --- service ------------------------------------------------------------------------------

    def get_service_status(self) -> ServiceStatus:
        """Amazon's own view of the service: GREEN, GREEN_I, YELLOW or RED."""
        call = _Call("GetServiceStatus", {}, reads_only=True)

        def read(body: bytes, status: int) -> ServiceStatus:
            result, request_id = read_reply(body, action=call.action, http_status=status)
            if result is None:
                raise ReplyError(
                    "<GetServiceStatusResponse> has no <GetServiceStatusResult>", operation=call.action
                )
            return parse_service_status(result, request_id=request_id)

        return self._perform(call, read)

    # --- the request loop ---------------------------------------------------------------------

    def _details(self, call: _Call, element: str, parse: Callable[..., T]) -> T:
        return self._perform(
            call,
            lambda body, status: read_details_reply(
                body, action=call.action, element=element, parse=parse, http_status=status
            ),
        )

    def _acknowledge(self, call: _Call) -> None:
        self._perform(
            call, lambda body, status: read_empty_reply(body, action=call.action, http_status=status)
        )

    def _perform(self, call: _Call, read: Callable[[bytes, int], T]) -> T:
        """Send `call` until a reply settles it, within the retry policy (see the module doc)."""
        started = self._clock()
        may_have_acted = False
        attempt = 0
        while True:
            attempt += 1
            if self._rate_limiter is not None:
                self._rate_limiter.acquire(call.action)
            outcome = self._attempt(call, read, attempt)
            if isinstance(outcome, _Settled):
                return outcome.value
            if not call.reads_only and _may_have_acted(outcome):
                may_have_acted = True
            delay = self._retry_delay(outcome, attempt, started)
            if delay is None:
                if may_have_acted:
                    raise self._outcome_unknown(call, attempt, outcome) from outcome
                raise outcome
            self._sleep(delay)

    def _attempt(
        self, call: _Call, read: Callable[[bytes, int], T], attempt: int
    ) -> _Settled[T] | AmazonPayError:
        """One request: its parsed reply, or the failure to decide about (logged either way)."""
        began = self._clock()
        try:
            response = self._post(call)
        except httpx.RequestError as exc:
            failure = TransportError(
                f"{call.action}: {type(exc).__name__}: {exc}",
                operation=call.action,
                request_sent=not isinstance(exc, _NOT_SENT),
            )
            failure.__cause__ = exc
            self._log_attempt(call, attempt, began, status=None, outcome=type(exc).__name__, request_id=None)
            return failure
        status = response.status_code
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s reply: %s", call.action, masked_reply(response.text))
        if not 200 <= status < 300:
            error = error_from_reply(response.content, http_status=status, operation=call.action)
            self._log_attempt(
                call,
                attempt,
                began,
                status=status,
                outcome=error.code or type(error).__name__,
                request_id=error.request_id,
            )
            return error
        try:
            value = read(response.content, status)
        except AmazonApiError as error:  # an ErrorResponse sent with a 2xx status
            self._log_attempt(
                call,
                attempt,
                began,
                status=status,
                outcome=error.code or type(error).__name__,
                request_id=error.request_id,
            )
            return error
        except ReplyError as exc:
            self._log_attempt(call, attempt, began, status=status, outcome="unreadable", request_id=None)
            if call.reads_only:
                exc.operation = exc.operation or call.action
                exc.http_status = exc.http_status or status
                raise
            # A 2xx means Amazon acted; what it did, this reply does not say.
            raise self._outcome_unknown(call, attempt, exc) from exc
        self._log_attempt(call, attempt, began, status=status, outcome="ok", request_id=_request_id_of(value))
        return _Settled(value)

    def _post(self, call: _Call) -> httpx.Response:
        parameters = signed_parameters(
            call.parameters,
            action=call.action,
            endpoint=self._endpoint,
            seller_id=self._seller_id,
            access_key=self._access_key,
            secret_key=self._secret_key,
            timestamp=datetime.now(UTC),
            mws_auth_token=self._mws_auth_token,
        )
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug("%s request: %s", call.action, masked_parameters(parameters))
        return self._http.post(self._endpoint.url, content=form_body(parameters))

    def _retry_delay(self, failure: AmazonPayError, attempt: int, started: float) -> float | None:
        """Seconds to wait before the next attempt, or None when this failure is final."""
        retryable = isinstance(failure, TransportError) or (
            isinstance(failure, AmazonApiError) and failure.retryable
        )
        if not retryable or attempt >= self._retry.max_attempts:
            return None
        delay = self._retry.backoff(attempt)
        if self._clock() - started + delay > self._retry.max_total:
            return None
        return delay

    def _outcome_unknown(self, call: _Call, attempts: int, cause: BaseException) -> OutcomeUnknown:
        return OutcomeUnknown(
            f"{call.action} ({call.ids()}) may have reached Amazon, but no usable reply came back"
            f" after {attempts} attempt(s) - last: {cause}. Amazon may or may not have acted:"
            " refresh the payment before doing anything else.",
            operation=call.action,
            amazon_id=call.amazon_id,
            reference_id=call.reference_id,
            attempts=attempts,
        )

    def _log_attempt(
        self,
        call: _Call,
        attempt: int,
        began: float,
        *,
        status: int | None,
        outcome: str,
        request_id: str | None,
    ) -> None:
        duration_ms = round((self._clock() - began) * 1000)
        logger.info(
            "%s %s attempt=%d status=%s outcome=%s duration_ms=%d request_id=%s",
            call.action,
            call.ids(),
            attempt,
            status if status is not None else "-",
            outcome,
            duration_ms,
            request_id or "-",
            extra={
                "amazonpay_operation": call.action,
                "amazonpay_attempt": attempt,
                "amazonpay_status": status,
                "amazonpay_outcome": outcome,
                "amazonpay_duration_ms": duration_ms,
                "amazonpay_request_id": request_id,
            },
        )


def _may_have_acted(failure: AmazonPayError) -> bool:
    """Whether Amazon may have carried out a request that ended in this failure.

    A request that reached Amazon without a reply, and Amazon's internal errors (500, and
    502/504 from its front end), may follow the work. 503 (RequestThrottled,
    ServiceUnavailable) and every 4xx are refusals: nothing was done. UNCONFIRMED for 503:
    Amazon documents it as "throttled / unavailable", which we read as "not processed"; even if
    wrong, a retry carries the same reference id and cannot move money twice.
    """
    if isinstance(failure, TransportError):
        return failure.request_sent
    return isinstance(failure, InternalError)


def _request_id_of(result: object) -> str | None:
    if isinstance(result, str):  # acknowledgements return their RequestId
        return result
    return getattr(result, "request_id", None)
