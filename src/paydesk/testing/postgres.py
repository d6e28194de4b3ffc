"""A throwaway PostgreSQL server for tests and benchmarks.

    python -m paydesk.testing.postgres -- pytest tests/web

creates a cluster in a temporary directory, starts it on a free port on 127.0.0.1, runs the
command with DATABASE_URL pointing at it, then stops it and deletes the directory. PostgreSQL
refuses to run as root, so under root the server runs as the `postgres` system user (which
Debian's postgresql package creates).
"""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path


class PostgresUnavailable(RuntimeError):
    pass


def _bin_dir() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).parent
    raise PostgresUnavailable("PostgreSQL server binaries not found: apt-get install postgresql")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_server_user(command: list[str]) -> list[str]:
    if os.geteuid() != 0:
        return command
    if shutil.which("runuser") is None:
        raise PostgresUnavailable("running as root needs runuser to start PostgreSQL as 'postgres'")
    return ["runuser", "-u", "postgres", "--", *command]


@contextlib.contextmanager
def throwaway_postgres(*, database: str = "paydesk") -> Iterator[str]:
    """Yield the DATABASE_URL of a fresh PostgreSQL server that exists for the block only."""
    bin_dir = _bin_dir()
    root = Path(tempfile.mkdtemp(prefix="paydesk-pg-"))
    data = root / "data"
    port = _free_port()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    run = lambda *cmd: subprocess.run(_as_server_user(list(cmd)), check=True, capture_output=True, text=True)  # noqa: E731
    try:
        run(
            str(bin_dir / "initdb"),
            "-D",
            str(data),
            "-U",
            "paydesk",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-sync",
        )
        settings = (
            f"port={port} listen_addresses='127.0.0.1' unix_socket_directories='{root}' fsync=off "
            "synchronous_commit=off full_page_writes=off max_connections=200 shared_buffers=256MB"
        )
        run(
            str(bin_dir / "pg_ctl"),
            "-D",
            str(data),
            "-l",
            str(root / "server.log"),
            "-o",
            " ".join(f"-c {s}" for s in settings.split()),
            "-w",
            "-t",
            "60",
            "start",
        )
        url = f"postgres://paydesk@127.0.0.1:{port}/{database}"
        run(str(bin_dir / "createdb"), "-h", "127.0.0.1", "-p", str(port), "-U", "paydesk", database)
        yield url
    except subprocess.CalledProcessError as exc:
        # The command is the last word of runuser's (or su's) argument list; the server's own
        # log says why it did not start, and it is deleted below.
        command = next(
            (Path(part).name for part in exc.cmd if str(part).startswith(str(bin_dir))), exc.cmd[0]
        )
        log = root / "server.log"
        tail = "\n".join(log.read_text(errors="replace").splitlines()[-10:]) if log.exists() else ""
        detail = f"{exc.stderr or exc.stdout}".strip() + (f"\nserver.log:\n{tail}" if tail else "")
        raise PostgresUnavailable(f"{command} failed: {detail}") from exc
    finally:
        if (data / "postmaster.pid").exists():
            subprocess.run(
                _as_server_user([str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "immediate", "-w", "stop"]),
                capture_output=True,
                check=False,
            )
            time.sleep(0.1)
        shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str]) -> int:
    if "--" in argv:
        argv = argv[argv.index("--") + 1 :]
    if not argv:
        print(__doc__)
        return 2
    # A cancelled CI job or a timeout sends SIGTERM: stop the server and delete its files as on
    # Ctrl-C, instead of leaving a postgres running with no parent.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    with throwaway_postgres() as url:
        print(f"paydesk: throwaway PostgreSQL at {url}", file=sys.stderr, flush=True)
        child = subprocess.Popen(argv, env={**os.environ, "DATABASE_URL": url})
        try:
            return child.wait()
        except KeyboardInterrupt:
            child.terminate()
            try:
                child.wait(timeout=30)
            except subprocess.TimeoutExpired:
                child.kill()
            return 130


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
