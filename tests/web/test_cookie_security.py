"""Served over https, the session and CSRF cookies are marked Secure, whichever way the README's
production setup says https (settings are read once per process, so each case is a process)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

_READ = (
    "import os; os.environ['DJANGO_SETTINGS_MODULE'] = 'paydesk.web.settings';"
    "from django.conf import settings;"
    "print(settings.SESSION_COOKIE_SECURE, settings.CSRF_COOKIE_SECURE)"
)


@pytest.mark.parametrize(
    ("env", "secure"),
    [
        ({"PAYDESK_BEHIND_TLS_PROXY": "1"}, "True True"),
        ({"PAYDESK_CSRF_TRUSTED_ORIGINS": "https://desk.example.com"}, "True True"),
        ({"PAYDESK_CSRF_TRUSTED_ORIGINS": "http://desk.internal:8000"}, "False False"),
        ({}, "False False"),
    ],
)
def test_cookies_are_secure_whenever_the_desk_is_served_over_https(tmp_path, env, secure):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("PAYDESK_", "DJANGO_"))}
    done = subprocess.run(
        [sys.executable, "-c", _READ],
        env={**clean, "PAYDESK_DATA_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    assert done.stdout.strip() == secure
