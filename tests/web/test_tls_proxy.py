"""Behind a TLS proxy (the README's PAYDESK_BEHIND_TLS_PROXY=1), staff can log in: the proxy's
X-Forwarded-Proto reaches Django through the real waitress server `paydesk serve` runs."""

from __future__ import annotations

import contextlib
import re
import threading

import httpx
import pytest
from django.contrib.auth.models import User

from paydesk.web.serve import make_server

PASSWORD = "correct horse battery staple"


@pytest.fixture
def behind_proxy(settings, monkeypatch):
    # Waitress's worker threads keep their database connections for CONN_MAX_AGE (60 s on
    # PostgreSQL), past the test, and the test database could not be dropped at the end: close
    # each at the end of its request.
    from django.db import connections

    monkeypatch.setitem(connections.settings["default"], "CONN_MAX_AGE", 0)
    # What settings.py sets for PAYDESK_BEHIND_TLS_PROXY=1 (read once per process).
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    settings.SESSION_COOKIE_SECURE = settings.CSRF_COOKIE_SECURE = True
    settings.PAYDESK_TRUSTED_PROXY = "127.0.0.1"
    return settings


@contextlib.contextmanager
def running_server():
    server = make_server(host="127.0.0.1", port=0, threads=2)

    def serve():
        with contextlib.suppress(OSError, ValueError):  # its socket closed under the loop
            server.run()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.close()
        thread.join(timeout=10)


def login_through(server, forwarded_proto: str) -> httpx.Response:
    base = f"http://127.0.0.1:{server.effective_port}"
    headers = {"X-Forwarded-Proto": forwarded_proto}
    with httpx.Client(base_url=base, headers=headers, timeout=10) as client:
        page = client.get("/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
        # The cookie is Secure; the proxy's browser sends it over https, this client over http.
        cookie = page.cookies["csrftoken"]
        scheme = "https" if forwarded_proto == "https" else "http"
        return client.post(
            "/login/",
            data={"username": "olga", "password": PASSWORD, "csrfmiddlewaretoken": token},
            headers={
                "Cookie": f"csrftoken={cookie}",
                "Origin": f"{scheme}://127.0.0.1:{server.effective_port}",
            },
        )


@pytest.mark.django_db(transaction=True)
def test_staff_log_in_behind_a_tls_proxy(behind_proxy):
    User.objects.create_user("olga", password=PASSWORD)
    with running_server() as server:
        response = login_through(server, "https")
    assert response.status_code == 302 and response.headers["location"] == "/orders/"
    assert "secure" in response.headers["set-cookie"].lower()


@pytest.mark.django_db(transaction=True)
def test_x_forwarded_proto_from_anyone_but_the_proxy_is_dropped(behind_proxy):
    behind_proxy.PAYDESK_TRUSTED_PROXY = "10.9.9.9"  # the proxy is elsewhere: this client is not it
    User.objects.create_user("olga", password=PASSWORD)
    with running_server() as server:
        # Claiming https itself, a client is still plain http to Django: the https origin it
        # sends does not match, so the login is refused.
        assert login_through(server, "https").status_code == 403
