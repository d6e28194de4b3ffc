"""Amazon's error codes and the HTTP status each one comes with.

Sources: the Amazon Pay error table (https://developer.amazon.com/docs/amazon-pay-api/error-codes.html
and the EU copy .../docs/eu/amazon-pay-api/error-codes.html) and the MWS common table
(https://docs.developer.amazonservices.com/en_US/dev_guide/DG_Errors.html); docs/amazon-pay-v1.md §5.2.
Codes whose names are confirmed but whose HTTP status we could not see are marked UNCONFIRMED; the
code *names* of those are on Amazon's Japanese error page as mirrored in integrators' enums, and
Amazon's Magento 2 plugin (src/Payment/Gateway/Validator/AuthorizationValidator.php) maps them.
"""

from __future__ import annotations

SENDER = "Sender"
RECEIVER = "Receiver"

STATUS_OF: dict[str, int] = {
    # Amazon Pay table, seen.
    "CaptureNotRefundable": 405,
    # US page says 404, EU page says 400. This sandbox presents itself as North America: 404.
    "ConstraintsExist": 404,
    "CurrencyMismatch": 400,
    "DuplicateReferenceId": 400,
    "DuplicateRequest": 400,
    "InternalServerError": 500,
    "InvalidAuthorizationStatus": 405,
    "InvalidSandboxSimulationSpecified": 400,
    "AmbiguousToken": 400,  # PHP SDK docblock of getOrderReferenceDetails
    # Amazon Pay table, status UNCONFIRMED (only the names are confirmed).
    "InvalidOrderReferenceStatus": 405,
    "OrderReferenceNotModifiable": 405,
    "TransactionAmountExceeded": 400,
    "TransactionCountExceeded": 400,
    "InvalidOrderReferenceId": 404,
    "InvalidTransactionId": 404,
    "ServiceUnavailable": 503,
    # MWS common table, seen.
    "InvalidParameterValue": 400,
    "AccessDenied": 401,
    "InvalidAccessKeyId": 403,
    "SignatureDoesNotMatch": 403,
    "InvalidAddress": 404,
    "InternalError": 500,
    "RequestThrottled": 503,
    # A stale Timestamp: real MWS replies say RequestExpired (python-amazon-mws issue #92,
    # CPIGroup/phpAmazonMWS issue #106); the status is UNCONFIRMED - MWS lists "request expired"
    # under 400.
    "RequestExpired": 400,
}


class AmazonError(Exception):
    """An error reply: Amazon's code, a message for the developer, and the HTTP status."""

    def __init__(self, code: str, message: str, status: int | None = None) -> None:
        if code not in STATUS_OF:
            raise ValueError(f"no HTTP status known for Amazon error code {code!r}")
        super().__init__(code, message)
        self.code = code
        self.message = message
        # Only where Amazon's own tables disagree on one code's status does a caller pick.
        self.status = status or STATUS_OF[code]

    @property
    def type(self) -> str:
        return RECEIVER if self.status >= 500 else SENDER

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"


def _member_path(parameter: str) -> str:
    return ".".join(part[:1].lower() + part[1:] for part in parameter.split("."))


def missing(parameter: str) -> AmazonError:
    """An absent required parameter. Amazon answers InvalidParameterValue with an AWS-style
    validation message (real SetOrderReferenceDetails reply in MadisonReed/amazon-payments issue
    #6; docs/amazon-pay-v1.md §9); MissingParameter is not an Amazon Pay code."""
    return AmazonError(
        "InvalidParameterValue",
        f"1 validation error detected: Value null at '{_member_path(parameter)}' "
        "failed to satisfy constraint: Member must not be null",
    )


def invalid(parameter: str, why: str) -> AmazonError:
    return AmazonError("InvalidParameterValue", f"Invalid value for {parameter}: {why}")


def invalid_value(parameter: str, value: str) -> AmazonError:
    """A value Amazon cannot read, in Amazon's words: "The Value '0.0099999999999998' is invalid
    for the Parameter 'Amount'" (a live reply quoted in amzn/amazon-payments-magento-2-plugin
    issue #65; the same words for '0.0000' in a sandbox checkout alert,
    amzn/amazon-payments-magento-plugin issue #383; docs/amazon-pay-v1.md §5.2). Amazon names
    only the last part of a dotted parameter: 'Amount', not 'AuthorizationAmount.Amount'."""
    name = parameter.rpartition(".")[2]
    return AmazonError("InvalidParameterValue", f"The Value '{value}' is invalid for the Parameter '{name}'")
