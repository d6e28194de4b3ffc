"""What can go wrong when Paydesk talks to Amazon Pay, as exceptions a caller can tell apart.

Three questions decide what a caller does next, and each has its own exception:

- Did Amazon answer with an error? -> `AmazonApiError`, one subclass per thing a caller must
  react to differently (`InvalidState`, `AmountExceeded`, `Throttled`, ...). Match on the class
  (or on `.kind`), never on message text.
- Did the request possibly reach Amazon without a usable answer coming back? ->
  `OutcomeUnknown`: Amazon may or may not have acted. Mark the payment for synchronisation and
  let a refresh find out; never guess.
- Did no answer come back, but repeating the call is harmless? -> `TransportError`.

`InvalidRequest` is raised before anything is sent, for values Amazon would refuse anyway;
`ReplyError` for a reply that is not the XML Amazon documents.

No exception here ever carries the secret key, a signature or request parameters: only
Amazon's own error fields, ids and reference ids.
"""

from __future__ import annotations

import enum


class AmazonPayError(Exception):
    """Base class of every error raised by `paydesk.amazonpay`."""


class InvalidRequest(AmazonPayError, ValueError):
    """A value Amazon would refuse (reference id, amount, note length...): nothing was sent."""


class ReplyError(AmazonPayError):
    """Amazon's reply could not be read: not XML, not the documented shape, or a required
    element is missing or malformed."""

    def __init__(self, message: str, *, operation: str | None = None, http_status: int | None = None):
        super().__init__(message)
        self.operation = operation
        self.http_status = http_status


class TransportError(AmazonPayError):
    """No reply, and repeating the call is harmless.

    Either the request never reached Amazon (`request_sent` is False: connection refused, DNS,
    connect timeout), or it did but the operation only reads (`Get...Details`,
    `GetServiceStatus`).
    """

    def __init__(self, message: str, *, operation: str, request_sent: bool):
        super().__init__(message)
        self.operation = operation
        self.request_sent = request_sent


class OutcomeUnknown(AmazonPayError):
    """The request may have reached Amazon, and no usable reply came back.

    Amazon may have acted (authorized, captured, refunded, closed...) or not. The caller must
    not guess: record the payment as awaiting synchronisation and refresh it, looking the
    object up by `reference_id` (Authorize/Capture/Refund) or by `amazon_id`.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        amazon_id: str | None,
        reference_id: str | None,
        attempts: int,
    ):
        super().__init__(message)
        self.operation = operation
        self.amazon_id = amazon_id
        self.reference_id = reference_id
        self.attempts = attempts


class ErrorKind(enum.StrEnum):
    """What a caller needs to know about an Amazon error, independent of its exact code."""

    INVALID_STATE = "invalid_state"  # the object's state does not allow this (page was stale)
    AMOUNT_EXCEEDED = "amount_exceeded"
    LIMIT_EXCEEDED = "limit_exceeded"  # too many authorizations / captures / refunds
    INVALID_PARAMETER = "invalid_parameter"
    DUPLICATE_REFERENCE = "duplicate_reference"
    CONSTRAINTS_EXIST = "constraints_exist"
    NOT_FOUND = "not_found"
    ACCESS_DENIED = "access_denied"
    SIGNATURE_MISMATCH = "signature_mismatch"
    THROTTLED = "throttled"
    SERVICE_UNAVAILABLE = "service_unavailable"
    INTERNAL_ERROR = "internal_error"
    OTHER = "other"


class AmazonApiError(AmazonPayError):
    """Amazon answered with an `ErrorResponse` (or an error status without one).

    `type` is Amazon's `Sender`/`Receiver` (empty for `RequestThrottled`), `code` and
    `message` are Amazon's, `request_id` is Amazon's RequestId (quote it to Amazon support).
    """

    kind: ErrorKind = ErrorKind.OTHER

    def __init__(
        self,
        *,
        http_status: int,
        type: str | None,
        code: str | None,
        message: str | None,
        request_id: str | None,
        operation: str | None = None,
    ):
        self.http_status = http_status
        self.type = type
        self.code = code
        self.message = message
        self.request_id = request_id
        self.operation = operation
        super().__init__(self._describe())

    def _describe(self) -> str:
        what = self.code or f"HTTP {self.http_status}"
        where = f" to {self.operation}" if self.operation else ""
        text = f": {self.message}" if self.message else ""
        rid = f" (RequestId {self.request_id})" if self.request_id else ""
        return f"Amazon refused the request{where} with {what} [HTTP {self.http_status}]{text}{rid}"

    @property
    def retryable(self) -> bool:
        """Whether repeating the same request later may succeed (throttling, Amazon trouble)."""
        return self.kind in _RETRYABLE_KINDS


class InvalidState(AmazonApiError):
    """The order reference, authorization or capture is not in a state that allows this call."""

    kind = ErrorKind.INVALID_STATE


class AmountExceeded(AmazonApiError):
    """The amount is more than Amazon allows (authorized amount, over-capture, refund ceiling)."""

    kind = ErrorKind.AMOUNT_EXCEEDED


class LimitExceeded(AmazonApiError):
    """Too many authorizations, captures or refunds on one object."""

    kind = ErrorKind.LIMIT_EXCEEDED


class InvalidParameter(AmazonApiError):
    """A parameter Amazon rejects (value, currency, sandbox simulation string, expired request)."""

    kind = ErrorKind.INVALID_PARAMETER


class DuplicateReference(AmazonApiError):
    """The reference id was already used: by another operation (`DuplicateReferenceId`) or by
    the same one with different parameters (`DuplicateRequest`)."""

    kind = ErrorKind.DUPLICATE_REFERENCE


class ConstraintsExist(AmazonApiError):
    """The order reference has constraints (no amount, no address, payment method not allowed)
    and cannot be confirmed; Amazon's message lists them."""

    kind = ErrorKind.CONSTRAINTS_EXIST


class NotFound(AmazonApiError):
    """Amazon does not know the id (order reference, authorization, capture, refund) or token."""

    kind = ErrorKind.NOT_FOUND


class AccessDenied(AmazonApiError):
    """The credentials are wrong, or the account may not make this call."""

    kind = ErrorKind.ACCESS_DENIED


class SignatureMismatch(AccessDenied):
    """Amazon computed a different signature: usually the wrong secret key."""

    kind = ErrorKind.SIGNATURE_MISMATCH


class Throttled(AmazonApiError):
    """Over Amazon's request quota for this operation: retry after the quota restores."""

    kind = ErrorKind.THROTTLED


class ServiceUnavailable(AmazonApiError):
    """Amazon is temporarily unavailable (HTTP 503): retry later."""

    kind = ErrorKind.SERVICE_UNAVAILABLE


class InternalError(AmazonApiError):
    """Amazon failed internally (HTTP 500, or a 502/504 from its front end): retry later.

    Whether Amazon acted before failing cannot be known from this reply.
    """

    kind = ErrorKind.INTERNAL_ERROR


_RETRYABLE_KINDS = frozenset({ErrorKind.THROTTLED, ErrorKind.SERVICE_UNAVAILABLE, ErrorKind.INTERNAL_ERROR})

# Amazon's error codes -> the class a caller matches on. Sources: docs/amazon-pay-v1.md §5.2
# (Amazon Pay error-codes page, JP edition's list of names; MWS developer guide DG_Errors for
# the common MWS codes). Codes marked UNCONFIRMED are recalled names not seen on those pages;
# mapping them costs nothing if Amazon never sends them.
_CLASS_BY_CODE: dict[str, type[AmazonApiError]] = {
    # state of the object does not allow the call
    "InvalidAuthorizationStatus": InvalidState,
    "InvalidOrderReferenceStatus": InvalidState,
    "OrderReferenceNotModifiable": InvalidState,
    "CaptureNotRefundable": InvalidState,
    "InvalidCancelAttempt": InvalidState,
    "InvalidCloseAttempt": InvalidState,
    "BillingAgreementNotModifiable": InvalidState,
    "InvalidBillingAgreementStatus": InvalidState,  # UNCONFIRMED name
    "InvalidCaptureStatus": InvalidState,  # UNCONFIRMED name (not on the JP error-codes page)
    "PaymentMethodNotUpdated": InvalidState,
    # amounts and counts
    "TransactionAmountExceeded": AmountExceeded,
    "TransactionCountExceeded": LimitExceeded,
    # parameters
    "InvalidParameterValue": InvalidParameter,
    "MissingParameter": InvalidParameter,  # UNCONFIRMED for Amazon Pay; a common MWS code
    "InvalidSandboxSimulationSpecified": InvalidParameter,
    "CurrencyMismatch": InvalidParameter,
    "CurrencyUnsupported": InvalidParameter,
    "AmbiguousToken": InvalidParameter,
    "InvalidAddress": InvalidParameter,  # wrong section name or version in the request
    # A Timestamp more than 15 minutes off: the WooCommerce Amazon Pay plugin reports this code
    # as a clock problem; MWS-DG also folds expired requests into InvalidParameterValue.
    "RequestExpired": InvalidParameter,
    "InputStreamDisconnected": InvalidParameter,
    # reference ids
    "DuplicateReferenceId": DuplicateReference,
    "DuplicateRequest": DuplicateReference,
    # constraints
    "ConstraintsExist": ConstraintsExist,
    "BillingAgreementConstraintsExist": ConstraintsExist,
    # unknown ids / tokens
    "InvalidOrderReferenceId": NotFound,
    "InvalidTransactionId": NotFound,
    "InvalidAddressConsentToken": NotFound,
    # credentials and account
    "SignatureDoesNotMatch": SignatureMismatch,
    "InvalidAccessKeyId": AccessDenied,
    "AccessDenied": AccessDenied,
    "UnauthorizedAccess": AccessDenied,
    "InvalidAccountStatus": AccessDenied,
    "UnauthorizedSolutionProvider": AccessDenied,
    "MissingAuthenticationToken": AccessDenied,
    # throttling and availability
    "RequestThrottled": Throttled,
    "QuotaExceeded": Throttled,
    "ServiceUnavailable": ServiceUnavailable,
    "InternalServerError": InternalError,
    "InternalError": InternalError,
}

# When the code is missing or unknown, the HTTP status decides. 502/504 come from the front
# end, not from Amazon Pay, and Amazon lists 500/502/503/504 as the retryable statuses
# (docs/amazon-pay-v1.md §5.2, pay.amazon.com lpwa/201954950 "Handling errors").
_CLASS_BY_STATUS: dict[int, type[AmazonApiError]] = {
    401: AccessDenied,
    403: AccessDenied,
    404: NotFound,
    500: InternalError,
    502: InternalError,
    503: ServiceUnavailable,
    504: InternalError,
}


def api_error(
    *,
    http_status: int,
    type: str | None,
    code: str | None,
    message: str | None,
    request_id: str | None,
    operation: str | None = None,
) -> AmazonApiError:
    """The exception for one Amazon error reply: chosen by Amazon's code, else by HTTP status."""
    cls = _CLASS_BY_CODE.get(code or "") or _CLASS_BY_STATUS.get(http_status, AmazonApiError)
    return cls(
        http_status=http_status,
        type=type,
        code=code,
        message=message,
        request_id=request_id,
        operation=operation,
    )
