"""A throw-away PostgreSQL 15 cluster (Debian's server binaries) on 127.0.0.1, for the transfer's
tests and benchmark: initdb into a fresh folder, the server started as the ``postgres`` system user
when running as root (PostgreSQL refuses to run as root, as deploy/deployment.py does it), a role
and database for the test, and everything stopped and removed at the end."""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

PG_BIN = Path(os.environ.get("TRANSFER_TEST_PG_BIN", "/usr/lib/postgresql/15/bin"))
ROLE = "transfer"
DATABASE = "transfer"


def missing_binaries() -> str | None:
    """Why the cluster cannot start here, or None."""
    needed = [PG_BIN / name for name in ("initdb", "postgres", "psql")]
    absent = [str(path) for path in needed if not path.exists()]
    if absent:
        return f"PostgreSQL server binaries not found ({', '.join(absent)}): apt-get install postgresql-15"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class PostgresCluster:
    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="transfer-pg-"))
        self.data, self.sock = self.root / "data", self.root / "sock"
        self.port = _free_port()
        self.password = secrets.token_hex(12)
        self.process: subprocess.Popen[bytes] | None = None
        self._as_root = os.geteuid() == 0
        self._user: dict[str, Any] = (
            {"user": "postgres", "group": "postgres", "extra_groups": []} if self._as_root else {}
        )

    def _own(self, path: Path) -> None:
        if self._as_root:
            shutil.chown(path, "postgres", "postgres")

    def start(self) -> PostgresCluster:
        os.chmod(self.root, 0o755)
        for folder in (self.data, self.sock):
            folder.mkdir(mode=0o700)
            self._own(folder)
        subprocess.run(
            [str(PG_BIN / "initdb"), "-D", str(self.data), "-U", "postgres", "-E", "UTF8",
             "--auth-local=trust", "--auth-host=scram-sha-256", "--no-sync"],
            check=True, capture_output=True, cwd=self.root, **self._user,
        )  # fmt: skip
        log = self.root / "postgres.log"
        log.touch()
        self._own(log)
        with log.open("ab") as out:
            self.process = subprocess.Popen(
                [str(PG_BIN / "postgres"), "-D", str(self.data), "-k", str(self.sock), "-h", "127.0.0.1",
                 "-p", str(self.port), "-c", "fsync=off", "-c", "synchronous_commit=off",
                 "-c", "full_page_writes=off"],
                stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                cwd=self.root, **self._user,
            )  # fmt: skip
        deadline = time.monotonic() + 60
        while True:
            try:
                self.psql("SELECT 1", database="postgres")
                break
            except RuntimeError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise RuntimeError(f"PostgreSQL did not start: {log.read_text()[-2000:]}") from None
                time.sleep(0.2)
        self.psql(f"CREATE ROLE {ROLE} LOGIN PASSWORD '{self.password}'", database="postgres")
        self.psql(f"CREATE DATABASE {DATABASE} OWNER {ROLE}", database="postgres")
        return self

    def psql(self, sql: str, database: str = DATABASE) -> list[list[str]]:
        """Rows of `sql`, run as the superuser over the private unix socket."""
        out = subprocess.run(
            [str(PG_BIN / "psql"), "-h", str(self.sock), "-p", str(self.port), "-U", "postgres",
             "-d", database, "-X", "-A", "-t", "-F", "\t", "-v", "ON_ERROR_STOP=1", "-c", sql],
            capture_output=True, text=True, check=False,
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(f"psql failed: {out.stderr.strip()}")
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def psql_argv(self, database: str = DATABASE) -> list[str]:
        return [
            str(PG_BIN / "psql"),
            "-h",
            str(self.sock),
            "-p",
            str(self.port),
            "-U",
            "postgres",
            "-d",
            database,
        ]

    def connection_json(self) -> str:
        return json.dumps(
            {
                "conn_type": "postgres",
                "host": "127.0.0.1",
                "port": self.port,
                "login": ROLE,
                "password": self.password,
                "schema": DATABASE,
            }
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGINT)  # fast shutdown
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
