"""The API door: authenticate an MWS request, apply quotas and armed faults, run the operation,
and produce the reply bytes. Knows HTTP only as (Host header, path, body) in and
(status, body, what to do to the connection) out.

Order of checks: access key, signature, Timestamp, Version, SellerId, Action, quota, faults,
then the operation. Error codes: MWS common table (DG_Errors.html) and Amazon Pay's table.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from paydesk.sandbox import faults, replies
from paydesk.sandbox.clock import SandboxClock, parse_request_timestamp
from paydesk.sandbox.config import SandboxConfig, SellerAccount
from paydesk.sandbox.engine import Engine
from paydesk.sandbox.errors import AmazonError, invalid, missing
from paydesk.sandbox.faults import Fault, FaultPlan
from paydesk.sandbox.ids import new_request_id
from paydesk.sandbox.operations import OPERATIONS, Call
from paydesk.sandbox.throttle import Throttle
from paydesk.sandbox.wire import API_VERSION, SANDBOX_PATH, parse_form, signature_matches

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class ApiReply:
    status: int
    body: bytes
    # None: send the reply. "reset": abort the connection instead. "hold": keep the client
    # waiting `hold_seconds`, then abort without a reply.
    connection: str | None = None
    hold_seconds: float = 0.0


def _connection_fault(fault: Fault) -> ApiReply | None:
    if fault.mode in (faults.RESET, faults.ACT_THEN_RESET):
        return ApiReply(0, b"", "reset")
    if fault.mode in (faults.TIMEOUT, faults.ACT_THEN_TIMEOUT):
        return ApiReply(0, b"", "hold", fault.hold_seconds)
    return None


class Gateway:
    def __init__(
        self,
        config: SandboxConfig,
        engine: Engine,
        clock: SandboxClock,
        throttle: Throttle,
        fault_plan: FaultPlan,
    ) -> None:
        self._config = config
        self._engine = engine
        self._clock = clock
        self._throttle = throttle
        self._faults = fault_plan
        self._by_access_key = {account.access_key: account for account in config.sellers}
        self._seller_ids = {account.seller_id for account in config.sellers}

    def handle(self, host: str | None, path: str, body: bytes) -> ApiReply:
        request_id = new_request_id()
        try:
            return self._handle(host, path, body, request_id)
        except AmazonError as failure:
            return ApiReply(failure.status, replies.error(failure, request_id))
        except Exception:  # a sandbox bug must still answer like Amazon does: 500 InternalError
            logger.exception("request %s failed inside the sandbox", request_id)
            failure = AmazonError("InternalError", "There was an internal service failure.")
            return ApiReply(failure.status, replies.error(failure, request_id))

    def refuse(self, failure: AmazonError) -> ApiReply:
        """A reply for a request refused before its body was read."""
        return ApiReply(failure.status, replies.error(failure, new_request_id()))

    def _handle(self, host: str | None, path: str, body: bytes, request_id: str) -> ApiReply:
        params = parse_form(body)
        account = self._authenticate(host, path, params)
        self._check_timestamp(params)
        if params.get("Version") != API_VERSION:
            # Amazon Pay's table: InvalidAddress, 400, "invalid section name or version".
            raise AmazonError("InvalidAddress", f"Version must be {API_VERSION}.", status=400)
        seller_id = self._seller(params, account)
        action = params.get("Action") or ""
        operation = OPERATIONS.get(action)
        if operation is None:
            # MWS common table: InvalidAddress, 404, "an invalid API section or operation value".
            raise AmazonError(
                "InvalidAddress", f"The operation {action!r} is not part of Amazon Pay 2013-01-01."
            )
        sandbox = path == SANDBOX_PATH
        if not self._throttle.allow(seller_id, action, sandbox=sandbox):
            # Amazon's throttled reply: 503, message from JAVA Throttled.xml.
            raise AmazonError("RequestThrottled", "Request is throttled")
        fault = self._faults.take(action)
        if fault is not None and not fault.acts_first:
            return self._fail_before_acting(fault, request_id)
        payload = operation(self._engine, self._clock, Call(seller_id, sandbox, params))
        reply = ApiReply(200, replies.success(action, payload, request_id))
        if fault is not None:  # Amazon did it; the caller will never know
            if fault.mode == faults.ACT_THEN_500:
                failure = AmazonError("InternalServerError", "There was an unknown error in the service.")
                return ApiReply(failure.status, replies.error(failure, request_id))
            return _connection_fault(fault) or reply
        return reply

    @staticmethod
    def _fail_before_acting(fault: Fault, request_id: str) -> ApiReply:
        if fault.mode == faults.HTTP_500:
            failure = AmazonError("InternalServerError", "There was an unknown error in the service.")
        elif fault.mode == faults.HTTP_503:
            failure = AmazonError(
                "ServiceUnavailable", "The service is temporarily unavailable. Try again later."
            )
        else:
            held = _connection_fault(fault)
            assert held is not None
            return held
        return ApiReply(failure.status, replies.error(failure, request_id))

    def _authenticate(self, host: str | None, path: str, params: dict[str, str]) -> SellerAccount:
        access_key = params.get("AWSAccessKeyId")
        account = self._by_access_key.get(access_key or "")
        if account is None:
            raise AmazonError(
                "InvalidAccessKeyId", "The AWS Access Key Id you provided does not exist in our records."
            )
        if not host or not signature_matches(account.secret_key, host, path, params):
            raise AmazonError(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided. "
                "Check your Secret Key and signing method.",
            )
        return account

    def _check_timestamp(self, params: dict[str, str]) -> None:
        text = params.get("Timestamp")
        if not text:
            raise missing("Timestamp")
        try:
            stamped = parse_request_timestamp(text)
        except ValueError:
            raise invalid("Timestamp", f"{text!r} is not an ISO 8601 time") from None
        # Against the real clock: the client lives in real time even when the sandbox clock was
        # moved forward. The window is MWS policy: 15 minutes (DG_Timestamps.html).
        server_time = self._clock.real_now()
        if abs(server_time - stamped) > self._config.timestamp_tolerance:
            # Real MWS wording (python-amazon-mws issue #92); it says "past" for future ones too.
            raise AmazonError(
                "RequestExpired",
                f"Request signature is too far in the past and has expired. Timestamp date: {text}",
            )

    def _seller(self, params: dict[str, str], account: SellerAccount) -> str:
        seller_id = params.get("SellerId")
        if not seller_id:
            raise missing("SellerId")
        if seller_id not in self._seller_ids:
            # UNCONFIRMED: the code MWS gives an unknown seller id; MWS sections answer
            # "Invalid seller id" as InvalidParameterValue.
            raise AmazonError("InvalidParameterValue", f"Invalid seller id: {seller_id}")
        if seller_id != account.seller_id:
            # UNCONFIRMED: another seller's keys without delegation (MWSAuthToken) - AccessDenied.
            raise AmazonError("AccessDenied", f"Access to seller {seller_id} is denied for this access key.")
        return seller_id
