"""A fresh machine's first start: the data directory and the generated secret, each in processes
of their own (settings are read once per process)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

_CLEAN = {k: v for k, v in os.environ.items() if not k.startswith(("PAYDESK_", "DJANGO_", "DATABASE_URL"))}


def test_with_a_configured_secret_the_sqlite_folder_is_made_on_first_start(tmp_path):
    data = tmp_path / "not" / "there" / "yet"
    done = subprocess.run(
        [sys.executable, "-m", "paydesk", "manage", "migrate", "--verbosity", "0"],
        env={**_CLEAN, "PAYDESK_DATA_DIR": str(data), "PAYDESK_SECRET_KEY": "configured-by-the-operator"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert (data / "paydesk.sqlite3").exists() and not (data / "secret_key").exists()


# Everything settings.py imports is loaded before the wait, so that all the children reach
# the secret's file within a moment of each other.
_READ_KEY = """
import os, sys, time, secrets, tempfile, dj_database_url, django.conf
go = sys.argv[1]
while not os.path.exists(go):
    pass
os.environ["DJANGO_SETTINGS_MODULE"] = "paydesk.web.settings"
print(django.conf.settings.SECRET_KEY)
"""


def test_processes_starting_together_share_one_generated_secret(tmp_path):
    for round_ in range(5):
        data = tmp_path / f"round-{round_}"
        go = tmp_path / f"go-{round_}"
        children = [
            subprocess.Popen(
                [sys.executable, "-c", _READ_KEY, str(go)],
                env={**_CLEAN, "PAYDESK_DATA_DIR": str(data)},
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for _ in range(8)
        ]
        time.sleep(1.5)  # let every child reach its wait (the race needs them all ready)
        go.touch()
        results = [child.communicate(timeout=120) for child in children]
        errors = [err for (_, err), child in zip(results, children, strict=True) if child.returncode]
        assert not errors, errors[0]
        keys = {out.strip() for out, _ in results}
        assert len(keys) == 1 and "" not in keys
        assert (data / "secret_key").read_text().strip() in keys
        assert sorted(p.name for p in data.iterdir()) == ["secret_key"]  # no drafts left behind


def test_the_secret_is_generated_on_a_filesystem_without_hard_links(tmp_path, monkeypatch):
    import errno

    from paydesk.web import settings

    def no_hard_links(source, target):
        raise OSError(errno.EPERM, "Operation not permitted")  # vfat, some FUSE and SMB mounts

    monkeypatch.setattr(settings, "DATA_DIR", tmp_path / "data")
    monkeypatch.delenv("PAYDESK_SECRET_KEY", raising=False)
    monkeypatch.setattr(settings.os, "link", no_hard_links)
    key = settings._secret_key()
    assert len(key) > 40 and (tmp_path / "data" / "secret_key").read_text().strip() == key
    assert settings._secret_key() == key  # read back, not made again
    assert sorted(p.name for p in (tmp_path / "data").iterdir()) == ["secret_key"]
