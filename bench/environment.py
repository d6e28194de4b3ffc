"""What every benchmark starts before it measures: a fresh database and Django on top of it.

`django_on("sqlite")` gives a SQLite file in a temporary directory, `django_on("postgres")` a
throwaway PostgreSQL server (`paydesk.testing.postgres`); both are migrated, both are gone when
the block ends. Django can only be set up once per process, so a benchmark that compares
databases runs each one in a child process of its own (`run_per_database`).
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

DATABASES = ("sqlite", "postgres")


@contextlib.contextmanager
def django_on(database: str, *, icu_locale: str | None = None) -> Iterator[str]:
    """Set up Django on a new, migrated database; yield a one-line description of it.

    `icu_locale` (PostgreSQL only), e.g. "en-US": create the database with that ICU collation,
    as production databases usually have, instead of the throwaway server's C collation. The
    difference matters: under any collation but C, a plain b-tree index cannot serve LIKE 'x%'.
    """
    if database not in DATABASES:
        raise ValueError(f"database must be one of {DATABASES}, not {database!r}")
    with tempfile.TemporaryDirectory(prefix="paydesk-bench-") as data_dir:
        os.environ["PAYDESK_DATA_DIR"] = data_dir
        os.environ.setdefault("PAYDESK_SECRET_KEY", "paydesk-benchmark-secret-key-not-for-production")
        os.environ.setdefault("PAYDESK_LOG_LEVEL", "WARNING")
        with contextlib.ExitStack() as stack:
            if database == "postgres":
                from paydesk.testing.postgres import throwaway_postgres

                url = stack.enter_context(throwaway_postgres())
                os.environ["DATABASE_URL"] = _with_icu_database(url, icu_locale) if icu_locale else url
            else:
                os.environ.pop("DATABASE_URL", None)
            from paydesk.web.django_setup import migrate, setup

            setup(data_dir)
            migrate()
            from django.db import connection

            collation = f", ICU collation {icu_locale}" if icu_locale and database == "postgres" else ""
            try:
                yield f"{connection.vendor} {_server_version(connection)}{collation}"
            finally:
                # The server is stopped next: close our connection first so it goes quietly.
                connection.close()


class StatementRecorder:
    """Records what Django sends the database, statement by statement with its parameters, and
    where transactions begin, commit and roll back, so that `replay` can send exactly the same
    work again through a raw cursor: the database's and the driver's share without the ORM."""

    def __init__(self) -> None:
        # ("sql", sql, params, many, failed) | ("autocommit", on, force_begin) | ("commit",) | ("rollback",)
        self.log: list[tuple] = []

    def __call__(self, execute, sql, params, many, context):
        # SQLite's BEGIN is sent again by replaying the autocommit switch that sent it.
        if sql.startswith("BEGIN"):
            return execute(sql, params, many, context)
        entry = ["sql", sql, params, many, False]
        self.log.append(entry)
        try:
            return execute(sql, params, many, context)
        except Exception:
            entry[4] = True
            raise

    @contextlib.contextmanager
    def recording(self) -> Iterator[StatementRecorder]:
        from django.db import DEFAULT_DB_ALIAS, connections

        connection = connections[DEFAULT_DB_ALIAS]  # the wrapper itself, not the thread proxy

        def set_autocommit(on, force_begin_transaction_with_broken_autocommit=False):
            self.log.append(("autocommit", on, force_begin_transaction_with_broken_autocommit))
            return type(connection).set_autocommit(
                connection, on, force_begin_transaction_with_broken_autocommit
            )

        def commit():
            self.log.append(("commit",))
            return type(connection).commit(connection)

        def rollback():
            self.log.append(("rollback",))
            return type(connection).rollback(connection)

        connection.set_autocommit, connection.commit, connection.rollback = set_autocommit, commit, rollback
        try:
            with connection.execute_wrapper(self):
                yield self
        finally:
            del connection.set_autocommit, connection.commit, connection.rollback

    def replay(self, entries: list[tuple]) -> None:
        """Send `entries` (a slice of the log) again through Django's raw cursor. A statement that
        failed when recorded (a duplicate's unique key) must fail the same way here."""
        from django.db import connection

        with connection.cursor() as cursor:
            for entry in entries:
                kind = entry[0]
                if kind == "sql":
                    _, sql, params, many, failed = entry
                    try:
                        (cursor.executemany if many else cursor.execute)(sql, params)
                    except Exception:
                        if not failed:
                            raise
                    else:
                        if failed:
                            raise RuntimeError(f"replayed statement did not fail as recorded: {sql[:120]}")
                elif kind == "autocommit":
                    connection.set_autocommit(entry[1], entry[2])
                elif kind == "commit":
                    connection.commit()
                else:
                    connection.rollback()


def copy_database() -> str:
    """Copy the database as it is now (the connection stays on the original); return the
    copy's name for `on_database`. For measuring the same work twice from the same start."""
    from django.db import connection

    name = connection.settings_dict["NAME"]
    if connection.vendor == "sqlite":
        import sqlite3

        connection.ensure_connection()
        copy_name = str(name) + ".copy"
        target = sqlite3.connect(copy_name)
        connection.connection.backup(target)
        target.close()
        return copy_name
    import psycopg

    copy_name = f"{name}_copy"
    settings = connection.settings_dict
    connection.close()  # a template database must have no other sessions
    with psycopg.connect(
        host=settings["HOST"],
        port=settings["PORT"],
        user=settings["USER"],
        dbname="postgres",
        autocommit=True,
    ) as admin:
        admin.execute(f'CREATE DATABASE "{copy_name}" TEMPLATE "{name}"')
    return copy_name


@contextlib.contextmanager
def on_database(name: str) -> Iterator[None]:
    """Point Django's connection at database `name` inside the block."""
    from django.db import connection

    original = connection.settings_dict["NAME"]
    connection.close()
    connection.settings_dict["NAME"] = name
    try:
        yield
    finally:
        connection.close()
        connection.settings_dict["NAME"] = original


def _with_icu_database(url: str, icu_locale: str) -> str:
    import psycopg

    name = "paydesk_" + "".join(ch for ch in icu_locale.lower() if ch.isalnum())
    with psycopg.connect(url, autocommit=True) as admin:
        admin.execute(
            f"CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LOCALE 'C.UTF-8' "
            f"LOCALE_PROVIDER icu ICU_LOCALE '{icu_locale}'"
        )
    return url.rsplit("/", 1)[0] + "/" + name


def _server_version(connection) -> str:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
        else:
            cursor.execute("SELECT sqlite_version()")
        return str(cursor.fetchone()[0]).split(" ")[0]


def databases_from(argument: str) -> list[str]:
    chosen = DATABASES if argument == "both" else (argument,)
    for name in chosen:
        if name not in DATABASES:
            raise SystemExit(f"--db must be sqlite, postgres or both, not {argument!r}")
    return list(chosen)


def run_per_database(script: Path, databases: list[str], argv: list[str]) -> int:
    """Run `script --db NAME argv...` once per database, one child process each, in order."""
    worst = 0
    for name in databases:
        done = subprocess.run([sys.executable, str(script), "--db", name, *argv], check=False)
        worst = worst or done.returncode
    return worst
