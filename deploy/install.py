"""Install what the deployment runs on: Debian's redis-server and PostgreSQL 15 when missing, and a
venv (uv, compiled bytecode) with Airflow, the Celery provider and this package from a wheel built
from the checkout. Standard library only."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from deployment import DEPLOY, PG_BIN, say

REPO = DEPLOY.parent
# HUBSPOT_DEPLOY_VENV: another venv, e.g. to run a second deployment of another checkout state
# while one runs (reinstalling under running components would mix versions).
VENV = Path(os.environ.get("HUBSPOT_DEPLOY_VENV") or DEPLOY / ".venv").resolve()
WHEELS = DEPLOY / ".build" / VENV.name
AIRFLOW_VERSION = "3.3.2"
REQUIREMENTS = [
    f"apache-airflow=={AIRFLOW_VERSION}",
    "apache-airflow-providers-celery>=3.26",
    "asyncpg",
    "psycopg2-binary",
    "pytest>=8",
    "psutil",
]


def run(argv: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(argv, env=env, check=False)
    if result.returncode != 0:
        raise SystemExit(f"failed ({result.returncode}): {' '.join(argv)}")


def apt_packages() -> None:
    missing = []
    if not shutil.which("redis-server") and not Path("/usr/bin/redis-server").exists():
        missing.append("redis-server")
    if not (PG_BIN / "postgres").exists():
        missing.append("postgresql-15")
    if not missing:
        return
    say(f"installing {', '.join(missing)} with apt-get")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], env)
    run(["apt-get", "install", "-y", "-q", *missing], env)


def uv() -> str:
    """uv from PATH, the project's dev venv, or a small venv of its own."""
    for candidate in (shutil.which("uv"), REPO / ".venv" / "bin" / "uv", DEPLOY / ".uv" / "bin" / "uv"):
        if candidate and Path(candidate).exists():
            return str(candidate)
    say("installing uv (pip) into deploy/.uv")
    run([sys.executable, "-m", "venv", str(DEPLOY / ".uv")])
    run([str(DEPLOY / ".uv" / "bin" / "python"), "-m", "pip", "install", "-q", "uv"])
    return str(DEPLOY / ".uv" / "bin" / "uv")


def build_wheel(uv_bin: str) -> Path:
    shutil.rmtree(WHEELS, ignore_errors=True)
    run([uv_bin, "build", "--wheel", "--quiet", "--out-dir", str(WHEELS), str(REPO)])
    (wheel,) = WHEELS.glob("airflow_provider_hubspot_imports-*.whl")
    return wheel


def venv() -> Path:
    """Create or update deploy/.venv; returns its python. Skips the install when nothing changed."""
    apt_packages()
    uv_bin = uv()
    wheel = build_wheel(uv_bin)
    python = VENV / "bin" / "python"
    env = {**os.environ, "UV_COMPILE_BYTECODE": "1", "VIRTUAL_ENV": str(VENV)}
    if not python.exists():
        say(f"creating {VENV} (uv)")
        run([uv_bin, "venv", "--quiet", "--python", sys.executable, str(VENV)], env)
    digest = hashlib.sha256("\n".join(REQUIREMENTS).encode() + wheel.read_bytes()).hexdigest()
    stamp = VENV / ".deploy-stamp"
    if stamp.exists() and stamp.read_text() == digest:
        return python
    say(f"installing Airflow {AIRFLOW_VERSION}, the Celery provider and {wheel.name} (uv, compiled bytecode)")
    run(
        [
            uv_bin,
            "pip",
            "install",
            "--quiet",
            "-p",
            str(python),
            "--reinstall-package",
            "airflow-provider-hubspot-imports",
            str(wheel),
            *REQUIREMENTS,
        ],
        env,
    )
    stamp.write_text(digest)
    return python
