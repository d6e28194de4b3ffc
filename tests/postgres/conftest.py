"""Tests that only mean something on PostgreSQL (row locks, SKIP LOCKED, buckets shared between
connections). `scripts/test` runs the whole suite a second time on a throwaway PostgreSQL
server, where these run; on SQLite they are skipped."""

from __future__ import annotations

import pytest
from django.conf import settings

# The store on the offline sandbox, as the reconciler's tests set it up.
from tests.reconcile.conftest import sandbox, store  # noqa: F401 - fixtures


def pytest_collection_modifyitems(config, items):
    if settings.DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        return
    skip = pytest.mark.skip(
        reason="needs PostgreSQL: run `python -m paydesk.testing.postgres -- pytest tests/postgres` "
        "(scripts/test does)"
    )
    for item in items:
        if "tests/postgres/" in str(item.fspath):
            item.add_marker(skip)
