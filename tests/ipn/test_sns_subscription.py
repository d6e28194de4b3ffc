"""confirm_subscription: SubscribeURL is visited only after the message passed every check."""

from __future__ import annotations

import httpx
import pytest
from test_sns_support import (
    AWS_SAMPLE_CERT,
    AWS_SAMPLE_TIME,
    AWS_SAMPLES,
    NOW,
    SANDBOX_PREFIX,
    TOPIC_ARN,
    RecordingCertificateSource,
    body,
    certificate_pem,
    confirmation_fields,
    rsa_key,
    sign,
    signed_notification,
)

from paydesk.amazonpay.sns import (
    Rejection,
    SnsVerificationError,
    StaticCertificateSource,
    TrustPolicy,
    confirm_subscription,
    http_get_status,
    parse_envelope,
)

LIVE = TrustPolicy.live()


class SnsConfirmEndpoint:
    """Stands in for SNS's ConfirmSubscription URL; records every visit."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.visited: list[str] = []

    def __call__(self, url: str) -> int:
        self.visited.append(url)
        return self.status


def confirm(
    raw: bytes, endpoint: SnsConfirmEndpoint, *, policy=LIVE, topic_arn=TOPIC_ARN, pem=None, at=NOW
) -> None:
    confirm_subscription(
        parse_envelope(raw),
        endpoint,
        policy=policy,
        certificates=RecordingCertificateSource(pem or certificate_pem()),
        topic_arn=topic_arn,
        at=at,
    )


def refusal(raw: bytes, endpoint: SnsConfirmEndpoint, **kwargs) -> Rejection:
    with pytest.raises(SnsVerificationError) as caught:
        confirm(raw, endpoint, **kwargs)
    return caught.value.reason


def test_a_genuine_confirmation_for_our_topic_visits_its_subscribe_url_once():
    fields = sign(confirmation_fields())
    endpoint = SnsConfirmEndpoint()

    confirm(body(fields), endpoint)

    assert endpoint.visited == [fields["SubscribeURL"]]


def test_a_real_sns_subscription_confirmation_is_confirmed():
    endpoint = SnsConfirmEndpoint()
    raw = (AWS_SAMPLES / "subscription-confirmation.json").read_bytes()

    confirm_subscription(
        parse_envelope(raw),
        endpoint,
        policy=LIVE,
        certificates=StaticCertificateSource(AWS_SAMPLE_CERT.read_bytes()),
        topic_arn="arn:aws:sns:us-west-2:131990247566:dongie-standard-topic",
        at=AWS_SAMPLE_TIME,
    )

    assert endpoint.visited == [parse_envelope(raw).subscribe_url]


def test_a_forged_confirmation_is_refused_and_its_url_never_visited():
    endpoint = SnsConfirmEndpoint()

    assert (
        refusal(body(sign(confirmation_fields(), key=rsa_key("attacker"))), endpoint)
        == Rejection.BAD_SIGNATURE
    )
    assert endpoint.visited == []


def test_a_confirmation_whose_subscribe_url_was_swapped_after_signing_is_refused():
    fields = sign(confirmation_fields())
    fields["SubscribeURL"] = "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&TopicArn=other"
    endpoint = SnsConfirmEndpoint()

    assert refusal(body(fields), endpoint) == Rejection.BAD_SIGNATURE
    assert endpoint.visited == []


def test_a_genuine_confirmation_for_someone_elses_topic_is_not_confirmed():
    other_topic = "arn:aws:sns:us-east-1:123456789012:attacker-topic"
    endpoint = SnsConfirmEndpoint()

    assert refusal(body(sign(confirmation_fields(TopicArn=other_topic))), endpoint) == Rejection.WRONG_TOPIC
    assert endpoint.visited == []


def test_a_confirmation_with_an_expired_certificate_is_not_confirmed():
    endpoint = SnsConfirmEndpoint()
    raw = (AWS_SAMPLES / "subscription-confirmation.json").read_bytes()
    topic = "arn:aws:sns:us-west-2:131990247566:dongie-standard-topic"

    with pytest.raises(SnsVerificationError) as caught:
        confirm_subscription(
            parse_envelope(raw),
            endpoint,
            policy=LIVE,
            certificates=StaticCertificateSource(AWS_SAMPLE_CERT.read_bytes()),
            topic_arn=topic,
            at=AWS_SAMPLE_TIME.replace(year=2027),
        )

    assert caught.value.reason == Rejection.CERTIFICATE_EXPIRED
    assert endpoint.visited == []


@pytest.mark.parametrize(
    "subscribe_url",
    [
        "http://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Token=t",
        "https://evil.example/?Action=ConfirmSubscription&Token=t",
        "https://sns.us-east-1.amazonaws.com.evil.com/?Action=ConfirmSubscription",
        "https://sns.us-east-1.amazonaws.com:8443/?Action=ConfirmSubscription",
        "https://user@sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription",
        "https://sns.us-east-1.amazonaws.com/?Action=Unsubscribe&SubscriptionArn=x",
        "https://sns.us-east-1.amazonaws.com/redirect?Action=ConfirmSubscription",
        "https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription&Action=Publish",
    ],
)
def test_a_signed_confirmation_pointing_anywhere_but_snss_confirm_action_is_not_visited(subscribe_url):
    endpoint = SnsConfirmEndpoint()

    assert refusal(body(sign(confirmation_fields(SubscribeURL=subscribe_url))), endpoint) == (
        Rejection.UNTRUSTED_SUBSCRIBE_URL
    )
    assert endpoint.visited == []


def test_the_offline_sandbox_may_confirm_on_its_own_host():
    sandbox = TrustPolicy.offline_sandbox(SANDBOX_PREFIX)
    url = "http://127.0.0.1:8001/sandbox/sns/confirm?Token=t"
    fields = sign(confirmation_fields(SigningCertURL=SANDBOX_PREFIX + "sandbox.pem", SubscribeURL=url))
    endpoint = SnsConfirmEndpoint()

    confirm(body(fields), endpoint, policy=sandbox)
    assert endpoint.visited == [url]

    with pytest.raises(SnsVerificationError):
        confirm(body(fields), SnsConfirmEndpoint(), policy=LIVE)


def test_a_notification_is_not_a_subscription_confirmation():
    endpoint = SnsConfirmEndpoint()

    assert refusal(signed_notification(), endpoint) == Rejection.MALFORMED
    assert endpoint.visited == []


def test_sns_refusing_the_confirmation_is_reported_as_retryable():
    endpoint = SnsConfirmEndpoint(status=403)

    with pytest.raises(SnsVerificationError) as caught:
        confirm(body(sign(confirmation_fields())), endpoint)

    assert caught.value.reason == Rejection.SUBSCRIPTION_NOT_CONFIRMED
    assert caught.value.retryable


def test_http_get_status_does_not_follow_a_redirect():
    requested = []

    def handler(request: httpx.Request) -> httpx.Response:
        requested.append(str(request.url))
        return httpx.Response(302, headers={"Location": "https://evil.example/"})

    client = httpx.Client(transport=httpx.MockTransport(handler), follow_redirects=True)

    assert (
        http_get_status("https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription", client=client)
        == 302
    )
    assert requested == ["https://sns.us-east-1.amazonaws.com/?Action=ConfirmSubscription"]


def test_http_get_status_turns_a_connection_failure_into_a_retryable_refusal():
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    with pytest.raises(SnsVerificationError) as caught:
        http_get_status(
            "https://sns.us-east-1.amazonaws.com/",
            client=httpx.Client(transport=httpx.MockTransport(handler)),
        )

    assert caught.value.reason == Rejection.SUBSCRIPTION_NOT_CONFIRMED
