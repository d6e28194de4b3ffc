"""Where SNS signing certificates come from: fetched over HTTPS and cached, or given by the operator.

A source only fetches and parses; it never decides whether a URL or a certificate is trustworthy.
That is `TrustPolicy`'s job in `paydesk.amazonpay.sns`, which checks the URL *before* asking a source
and the certificate's names and dates *after* (the dates on every verification, so a cached
certificate stops being accepted the moment it expires).

What is cached is the parsed `SigningCertificate` with its public key object, not PEM text: verifying
an IPN then costs one RSA verification and no parsing (a later benchmark wants >= 1,000 IPNs/s/core).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import httpx
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.x509.oid import NameOID

from paydesk.amazonpay.sns_errors import CertificateUnavailable

# SNS signing certificates are single ~2 KB PEM files (a real one: tests/fixtures/sns/aws-sdk-java-v2/).
# 64 KiB leaves ample room and stops a hostile or broken server from feeding us megabytes.
DEFAULT_MAX_CERTIFICATE_BYTES = 64 * 1024
DEFAULT_FETCH_TIMEOUT_SECONDS = 5.0
# SNS rotates its signing certificate rarely and under a new URL (the file name carries a hash), so a
# URL's certificate does not change; a day bounds how long we keep one we no longer see. (Amazon's
# C# Amazon Pay SDK also caches it for one day: AmazonPay/IpnHandler.cs, docs/amazon-pay-v1.md §7.5.)
DEFAULT_CACHE_TTL_SECONDS = 24 * 60 * 60
DEFAULT_CACHE_SIZE = 32


@dataclass(frozen=True, slots=True)
class SigningCertificate:
    """The parts of an X.509 signing certificate that verification needs, parsed once."""

    public_key: RSAPublicKey
    not_valid_before: datetime  # aware, UTC
    not_valid_after: datetime  # aware, UTC
    dns_names: tuple[str, ...]  # subjectAltName DNS entries
    common_names: tuple[str, ...]  # subject CN entries
    subject: str

    @classmethod
    def from_pem(cls, pem: bytes) -> SigningCertificate:
        """The first certificate in `pem` (a chain's leaf). Raises `CertificateUnavailable`."""
        try:
            certificate = x509.load_pem_x509_certificates(pem)[0]
        except ValueError as exc:
            raise CertificateUnavailable(
                "The signing certificate is not a PEM-encoded X.509 certificate."
            ) from exc
        public_key = certificate.public_key()
        # SNS signs with SHA1withRSA or SHA256withRSA only (AWS, sns-verify-signature-of-message).
        if not isinstance(public_key, RSAPublicKey):
            raise CertificateUnavailable("The signing certificate does not carry an RSA key, as SNS uses.")
        try:
            san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
            dns_names = tuple(san.value.get_values_for_type(x509.DNSName))
        except x509.ExtensionNotFound:
            dns_names = ()
        except ValueError as exc:  # a malformed extension
            raise CertificateUnavailable("The signing certificate has unreadable extensions.") from exc
        subject_cns = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
        common_names = tuple(str(attribute.value) for attribute in subject_cns)
        return cls(
            public_key=public_key,
            not_valid_before=certificate.not_valid_before_utc,
            not_valid_after=certificate.not_valid_after_utc,
            dns_names=dns_names,
            common_names=common_names,
            subject=certificate.subject.rfc4514_string(),
        )

    def is_issued_for(self, name: str) -> bool:
        """True if `name` is one of the certificate's DNS names or subject common names (exact, no
        wildcards: SNS's certificate names sns.amazonaws.com itself)."""
        wanted = name.lower()
        return any(candidate.lower() == wanted for candidate in (*self.dns_names, *self.common_names))

    def is_valid_at(self, at: datetime) -> bool:
        return self.not_valid_before <= at <= self.not_valid_after


class CertificateSource(Protocol):
    """Gives the signing certificate for a SigningCertURL, or raises `CertificateUnavailable`."""

    def certificate(self, url: str) -> SigningCertificate: ...


class StaticCertificateSource:
    """One certificate standing in for whatever SigningCertURL says (`paydesk ipn verify --cert-file`).

    The URL is still checked by the trust policy before this source is asked.
    """

    def __init__(self, pem: bytes) -> None:
        self._certificate = SigningCertificate.from_pem(pem)

    def certificate(self, url: str) -> SigningCertificate:
        return self._certificate


class HttpsCertificateSource:
    """Fetches signing certificates with httpx and keeps the parsed result in a bounded, thread-safe
    LRU cache with a time-to-live.

    Refuses plain http unless the URL starts with one of `plain_http_prefixes` (only the offline
    sandbox's prefix, via `for_policy`); never follows redirects; stops reading at `max_bytes`.
    """

    def __init__(
        self,
        *,
        client: httpx.Client | None = None,
        timeout: float = DEFAULT_FETCH_TIMEOUT_SECONDS,
        max_bytes: int = DEFAULT_MAX_CERTIFICATE_BYTES,
        cache_size: int = DEFAULT_CACHE_SIZE,
        ttl_seconds: float = DEFAULT_CACHE_TTL_SECONDS,
        plain_http_prefixes: Iterable[str] = (),
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if cache_size < 1:
            raise ValueError("cache_size must be at least 1")
        # httpx verifies the server's TLS certificate by default: the PEM is only as trustworthy as
        # the connection it came over. We build no chain for the PEM itself (neither does AWS's own
        # SNS validator in aws-sdk-java-v2, services-custom/sns-message-manager CertificateRetriever).
        self._owns_client = client is None
        self._client = client if client is not None else httpx.Client(timeout=timeout, follow_redirects=False)
        self._timeout = timeout
        self._max_bytes = max_bytes
        self._cache_size = cache_size
        self._ttl_seconds = ttl_seconds
        self._plain_http_prefixes = tuple(plain_http_prefixes)
        self._clock = clock
        self._lock = threading.Lock()
        self._cache: OrderedDict[str, tuple[float, SigningCertificate]] = OrderedDict()

    @classmethod
    def for_policy(cls, policy: _HasPlainHttpPrefixes, **kwargs: Any) -> HttpsCertificateSource:
        """A source that allows plain http exactly where the trust policy does (the offline sandbox)."""
        return cls(plain_http_prefixes=policy.plain_http_cert_url_prefixes(), **kwargs)

    def close(self) -> None:
        """Close the HTTP client if this source created it."""
        if self._owns_client:
            self._client.close()

    def certificate(self, url: str) -> SigningCertificate:
        now = self._clock()
        with self._lock:
            cached = self._cache.get(url)
            if cached is not None and cached[0] > now:
                self._cache.move_to_end(url)
                return cached[1]
        # Fetched outside the lock: a slow certificate host must not stall verifications that hit
        # the cache. Two threads may fetch the same URL at once; both get the same certificate.
        certificate = SigningCertificate.from_pem(self._fetch(url))
        with self._lock:
            self._cache[url] = (now + self._ttl_seconds, certificate)
            self._cache.move_to_end(url)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return certificate

    def _fetch(self, url: str) -> bytes:
        if not url.startswith("https://") and not any(url.startswith(p) for p in self._plain_http_prefixes):
            raise CertificateUnavailable("Refusing to fetch the signing certificate over plain http.")
        try:
            with self._client.stream("GET", url, follow_redirects=False, timeout=self._timeout) as response:
                if response.is_redirect:
                    raise CertificateUnavailable(
                        "The signing certificate URL answered with a redirect, which we never follow."
                    )
                if response.status_code != 200:
                    raise CertificateUnavailable(
                        f"The signing certificate URL answered HTTP {response.status_code}."
                    )
                return _read_capped(response, self._max_bytes)
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            raise CertificateUnavailable(f"Could not download the signing certificate: {exc}") from exc


class _HasPlainHttpPrefixes(Protocol):
    def plain_http_cert_url_prefixes(self) -> tuple[str, ...]: ...


def _read_capped(response: httpx.Response, max_bytes: int) -> bytes:
    declared = response.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        raise CertificateUnavailable(f"The signing certificate is larger than {max_bytes} bytes.")
    received = bytearray()
    for chunk in response.iter_bytes():
        received += chunk
        if len(received) > max_bytes:
            raise CertificateUnavailable(f"The signing certificate is larger than {max_bytes} bytes.")
    return bytes(received)
