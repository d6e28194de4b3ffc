"""HttpsCertificateSource: how signing certificates are fetched, refused and cached."""

from __future__ import annotations

import http.server
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from test_sns_support import CERT_URL, NOW, SANDBOX_PREFIX, certificate_pem, rsa_key, signed_notification

from paydesk.amazonpay.sns import (
    HttpsCertificateSource,
    Rejection,
    SnsVerificationError,
    TrustPolicy,
    parse_envelope,
    verify,
)

PEM = certificate_pem()


class FakeSns:
    """An httpx transport standing in for SNS's certificate host; counts the requests it gets."""

    def __init__(self, respond=None) -> None:
        self.requests: list[httpx.Request] = []
        self._respond = respond or (lambda request: httpx.Response(200, content=PEM))

    def handler(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return self._respond(request)

    def source(self, **kwargs) -> HttpsCertificateSource:
        return HttpsCertificateSource(
            client=httpx.Client(transport=httpx.MockTransport(self.handler)), **kwargs
        )


def unavailable(source: HttpsCertificateSource, url: str = CERT_URL) -> SnsVerificationError:
    with pytest.raises(SnsVerificationError) as caught:
        source.certificate(url)
    assert caught.value.reason == Rejection.CERTIFICATE_UNAVAILABLE
    assert caught.value.retryable  # the endpoint answers 5xx, so Amazon redelivers later
    return caught.value


def test_the_certificate_is_fetched_with_a_get_and_its_public_key_parsed():
    sns = FakeSns()

    certificate = sns.source().certificate(CERT_URL)

    assert [(r.method, str(r.url)) for r in sns.requests] == [("GET", CERT_URL)]
    assert certificate.public_key.public_numbers() == rsa_key().public_key().public_numbers()
    assert certificate.is_issued_for("sns.amazonaws.com")


def test_a_fetched_certificate_verifies_a_notification_end_to_end():
    sns = FakeSns()

    verify(
        parse_envelope(signed_notification()), policy=TrustPolicy.live(), certificates=sns.source(), at=NOW
    )

    assert len(sns.requests) == 1


def test_the_parsed_certificate_is_cached_so_a_thousand_ipns_cost_one_fetch():
    sns = FakeSns()
    source = sns.source()
    msg = parse_envelope(signed_notification())

    for _ in range(1000):
        verify(msg, policy=TrustPolicy.live(), certificates=source, at=NOW)

    assert len(sns.requests) == 1


def test_the_cache_entry_expires_after_its_ttl():
    sns = FakeSns()
    clock = [1000.0]
    source = sns.source(ttl_seconds=60, clock=lambda: clock[0])

    source.certificate(CERT_URL)
    clock[0] += 59
    source.certificate(CERT_URL)
    assert len(sns.requests) == 1

    clock[0] += 2
    source.certificate(CERT_URL)
    assert len(sns.requests) == 2


def test_the_cache_is_bounded_and_evicts_the_least_recently_used_url():
    sns = FakeSns()
    source = sns.source(cache_size=2)
    a, b, c = (f"https://sns.us-east-1.amazonaws.com/{name}.pem" for name in "abc")

    source.certificate(a)
    source.certificate(b)
    source.certificate(a)  # a is now the most recently used
    source.certificate(c)  # evicts b
    source.certificate(a)
    assert len(sns.requests) == 3

    source.certificate(b)
    assert len(sns.requests) == 4


def test_many_threads_asking_at_once_all_get_the_same_key():
    gate = threading.Event()

    def slow(request: httpx.Request) -> httpx.Response:
        gate.wait(timeout=30)
        return httpx.Response(200, content=PEM)

    sns = FakeSns(slow)
    source = sns.source()
    with ThreadPoolExecutor(max_workers=8) as pool:
        futures = [pool.submit(source.certificate, CERT_URL) for _ in range(32)]
        gate.set()
        numbers = {future.result(timeout=60).public_key.public_numbers().n for future in futures}

    assert numbers == {rsa_key().public_key().public_numbers().n}
    fetches = len(sns.requests)
    source.certificate(CERT_URL)
    assert len(sns.requests) == fetches  # and from now on it is cached


def test_a_redirect_from_the_certificate_url_is_never_followed():
    sns = FakeSns(lambda request: httpx.Response(302, headers={"Location": "https://evil.example/sns.pem"}))

    assert "redirect" in str(unavailable(sns.source()))
    assert [str(r.url) for r in sns.requests] == [CERT_URL]


def test_a_redirect_is_not_followed_even_by_a_client_configured_to_follow_them():
    sns = FakeSns(lambda request: httpx.Response(301, headers={"Location": "https://evil.example/sns.pem"}))
    client = httpx.Client(transport=httpx.MockTransport(sns.handler), follow_redirects=True)

    unavailable(HttpsCertificateSource(client=client))
    assert len(sns.requests) == 1


def test_an_oversized_certificate_reply_is_refused():
    sns = FakeSns(lambda request: httpx.Response(200, content=PEM + b"\n" + b"A" * (64 * 1024)))

    assert "larger than" in str(unavailable(sns.source()))


def test_an_oversized_reply_is_refused_from_its_declared_length_before_reading():
    def huge(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"Content-Length": str(50 * 1024 * 1024)}, content=b"")

    assert "larger than" in str(unavailable(FakeSns(huge).source()))


def test_an_oversized_reply_without_a_declared_length_is_cut_off_while_streaming():
    chunks_sent = []

    def endless():
        for _ in range(10_000):
            chunks_sent.append(1)
            yield b"A" * 1024

    sns = FakeSns(lambda request: httpx.Response(200, content=endless()))

    unavailable(sns.source(max_bytes=8 * 1024))
    assert len(chunks_sent) < 100


@pytest.mark.parametrize("status", [403, 404, 500, 503])
def test_an_error_status_from_the_certificate_url_is_refused(status):
    assert str(status) in str(unavailable(FakeSns(lambda request: httpx.Response(status)).source()))


def test_a_reply_that_is_not_a_certificate_is_refused():
    unavailable(FakeSns(lambda request: httpx.Response(200, content=b"<html>hello</html>")).source())


def test_a_certificate_with_a_non_rsa_key_is_refused():
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "sns.amazonaws.com")])
    pem = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(NOW)
        .not_valid_after(NOW)
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.PEM)
    )

    assert "RSA" in str(unavailable(FakeSns(lambda request: httpx.Response(200, content=pem)).source()))


def test_a_timeout_is_reported_as_certificate_unavailable():
    def timeout(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("timed out", request=request)

    unavailable(FakeSns(timeout).source())


def test_a_failed_fetch_is_not_cached():
    replies = iter([httpx.Response(503), httpx.Response(200, content=PEM)])
    sns = FakeSns(lambda request: next(replies))
    source = sns.source()

    unavailable(source)
    assert source.certificate(CERT_URL).is_issued_for("sns.amazonaws.com")


def test_the_default_fetcher_refuses_plain_http_in_live_mode():
    sns = FakeSns()
    source = HttpsCertificateSource.for_policy(
        TrustPolicy.live(), client=httpx.Client(transport=httpx.MockTransport(sns.handler))
    )

    assert "plain http" in str(unavailable(source, "http://sns.us-east-1.amazonaws.com/x.pem"))
    assert "plain http" in str(unavailable(source, SANDBOX_PREFIX + "x.pem"))
    assert sns.requests == []


def test_the_sandbox_fetcher_allows_plain_http_only_under_the_sandbox_prefix():
    sns = FakeSns()
    source = HttpsCertificateSource.for_policy(
        TrustPolicy.offline_sandbox(SANDBOX_PREFIX),
        client=httpx.Client(transport=httpx.MockTransport(sns.handler)),
    )

    assert source.certificate(SANDBOX_PREFIX + "x.pem").is_issued_for("sns.amazonaws.com")
    unavailable(source, "http://sns.us-east-1.amazonaws.com/x.pem")
    assert [str(r.url) for r in sns.requests] == [SANDBOX_PREFIX + "x.pem"]


# --- over a real socket, with the offline sandbox's policy ----------------------------------------


class _CertificateHost(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        if self.path == "/sandbox/sns/SimpleNotificationService-sandbox.pem":
            self.send_response(200)
            self.send_header("Content-Length", str(len(PEM)))
            self.end_headers()
            self.wfile.write(PEM)
        elif self.path == "/sandbox/sns/moved.pem":
            self.send_response(302)
            self.send_header("Location", "/sandbox/sns/SimpleNotificationService-sandbox.pem")
            self.send_header("Content-Length", "0")
            self.end_headers()
        else:
            self.send_error(404)

    def log_message(self, format: str, *args: object) -> None:  # keep test output quiet
        pass


@pytest.fixture
def sandbox_certificate_host():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _CertificateHost)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/sandbox/sns/"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def test_the_offline_sandboxs_certificate_is_fetched_over_a_real_socket(sandbox_certificate_host):
    policy = TrustPolicy.offline_sandbox(sandbox_certificate_host)
    raw = signed_notification(
        SigningCertURL=sandbox_certificate_host + "SimpleNotificationService-sandbox.pem"
    )

    with httpx.Client() as client:
        verify(
            parse_envelope(raw),
            policy=policy,
            certificates=HttpsCertificateSource.for_policy(policy, client=client),
            at=NOW,
        )


def test_a_real_redirect_from_the_sandbox_is_refused(sandbox_certificate_host):
    policy = TrustPolicy.offline_sandbox(sandbox_certificate_host)

    with httpx.Client() as client:
        unavailable(
            HttpsCertificateSource.for_policy(policy, client=client), sandbox_certificate_host + "moved.pem"
        )


def test_a_missing_certificate_on_a_real_server_is_refused(sandbox_certificate_host):
    policy = TrustPolicy.offline_sandbox(sandbox_certificate_host)

    with httpx.Client() as client:
        unavailable(
            HttpsCertificateSource.for_policy(policy, client=client), sandbox_certificate_host + "gone.pem"
        )


def test_closing_a_source_closes_only_a_client_it_created():
    given = httpx.Client(transport=httpx.MockTransport(FakeSns().handler))
    HttpsCertificateSource(client=given).close()
    assert not given.is_closed

    own = HttpsCertificateSource()
    own.close()
    assert own._client.is_closed


def test_failed_downloads_of_forged_urls_never_keep_a_genuine_new_certificate_out():
    # Forged requests can name made-up certificates on Amazon's host; a limit on failures per
    # minute let a few of them a minute refuse every genuine IPN whose certificate was not
    # cached yet (after a restart, an expiry, a rotation).
    genuine = "https://sns.us-east-1.amazonaws.com/SimpleNotificationService-rotated.pem"
    sns = FakeSns(lambda request: httpx.Response(200 if str(request.url) == genuine else 404, content=PEM))
    source = sns.source()
    for n in range(20):
        unavailable(source, f"https://sns.us-east-1.amazonaws.com/forged-{n}.pem")
    assert source.certificate(genuine) is not None
