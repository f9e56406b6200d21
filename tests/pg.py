"""A throwaway PostgreSQL server for tests and benchmarks: `initdb` into a temporary directory, `pg_ctl
start` on a free loopback port (unix socket in the same directory), one database per test, all of it
removed at the end. Uses the server binaries of the `postgresql` package (scripts/setup.sh installs it).

PostgreSQL refuses to run as root, so under root (CI containers) the server runs as the `postgres` user
when it exists, else as `nobody`, via `runuser`.

Fixtures (import them into a conftest.py): `postgres_server` (session) and `postgres_url` (a fresh,
empty database per test).
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

SETUP_HINT = (
    "PostgreSQL server binaries (initdb, pg_ctl) not found in /usr/lib/postgresql/*/bin or on PATH. "
    "Run scripts/setup.sh (it installs the `postgresql` package), or apt-get install postgresql."
)
# Fast and unsafe: a test server that loses its data on a crash is fine.
_NON_DURABLE = " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"


def find_bin_dir() -> Path | None:
    """The newest PostgreSQL server bin directory (Debian layout first, then PATH)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    on_path = shutil.which("pg_ctl")
    return Path(on_path).parent if on_path and shutil.which("initdb") else None


def _run_as() -> str | None:
    """The unprivileged user to run the server as when we are root (PostgreSQL refuses root)."""
    if os.geteuid() != 0:
        return None
    for user in ("postgres", "nobody"):
        try:
            pwd.getpwnam(user)
            return user
        except KeyError:
            continue
    raise RuntimeError(
        "Running as root and there is neither a `postgres` nor a `nobody` user to run PostgreSQL."
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class PostgresServer:
    """A running throwaway cluster; `trust` authentication on loopback, superuser `postgres`."""

    def __init__(self, bin_dir: Path, root: Path, user: str | None) -> None:
        self.bin_dir, self.root, self.user = bin_dir, root, user
        self.port = 0
        self._names = itertools.count(1)

    def _cmd(self, tool: str, *args: str) -> list[str]:
        command = [str(self.bin_dir / tool), *args]
        return ["runuser", "-u", self.user, "--", *command] if self.user else command

    def _check(self, tool: str, *args: str) -> None:
        done = subprocess.run(self._cmd(tool, *args), capture_output=True, text=True, timeout=120)
        if done.returncode != 0:
            log = (self.root / "server.log").read_text() if (self.root / "server.log").exists() else ""
            raise RuntimeError(f"{tool} failed ({done.returncode}): {done.stderr.strip()}\n{log[-2000:]}")

    def start(self, durable: bool = False) -> None:
        data = self.root / "data"
        self._check(
            "initdb",
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
            "--no-locale",
            "--no-sync",
        )
        options = f"-c listen_addresses=127.0.0.1 -k {self.root}" + ("" if durable else _NON_DURABLE)
        log = str(self.root / "server.log")
        for _ in range(3):  # the free port may be taken between probing and binding
            self.port = _free_port()
            try:
                self._check(
                    "pg_ctl", "-D", str(data), "-l", log, "-w", "-o", f"{options} -p {self.port}", "start"
                )
                return
            except RuntimeError:
                continue
        raise RuntimeError(f"PostgreSQL did not start; see {self.root / 'server.log'}")

    def stop(self) -> None:
        subprocess.run(
            self._cmd("pg_ctl", "-D", str(self.root / "data"), "-m", "immediate", "-w", "stop"),
            capture_output=True,
            timeout=60,
        )

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def _admin(self, sql: str) -> None:
        import psycopg

        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as c:
            c.execute(sql)  # our own fixed statements, no user input

    def create_database(self) -> str:
        """A new empty database; returns its SQLAlchemy URL."""
        name = f"kb_test_{next(self._names)}"
        self._admin(f"CREATE DATABASE {name} STRATEGY FILE_COPY")  # WAL_LOG: slow for tiny DBs
        return self.url(name)

    def drop_database(self, url: str) -> None:
        self._admin(f"DROP DATABASE IF EXISTS {url.rsplit('/', 1)[1]} WITH (FORCE)")


@contextmanager
def running_postgres(durable: bool = False) -> Iterator[PostgresServer]:
    """Start a throwaway server; stop it and delete its files on exit. Raises RuntimeError(SETUP_HINT)."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError(SETUP_HINT)
    user = _run_as()
    root = Path(tempfile.mkdtemp(prefix="kb-pg-"))  # not under pytest's tmp: that is 0700, root only
    if user:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    server = PostgresServer(bin_dir, root, user)
    try:
        server.start(durable)
        yield server
    finally:
        server.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One server for the test session. Fails (never skips) when PostgreSQL is not installed."""
    if find_bin_dir() is None:
        pytest.fail(SETUP_HINT, pytrace=False)
    with running_postgres() as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    """A fresh, empty database on the session's server, dropped after the test."""
    url = postgres_server.create_database()
    yield url
    postgres_server.drop_database(url)
