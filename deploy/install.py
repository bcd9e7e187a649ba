"""Install what the deployment runs on: Debian's redis-server and PostgreSQL 15 when missing, and a
venv (uv, compiled bytecode) synced to `locks/deploy-py3.11.txt` (Airflow, the Celery provider with
Celery below 5.7, Redis and PostgreSQL drivers, every transitive dependency pinned), with this
package on top from a wheel built from the checkout. Standard library only."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

from deployment import DEPLOY, PG_BIN, say

REPO = DEPLOY.parent
sys.path.insert(0, str(REPO / "tools"))
import locks  # noqa: E402

# HUBSPOT_DEPLOY_VENV: another venv, e.g. to run a second deployment of another checkout state
# while one runs (reinstalling under running components would mix versions).
VENV = Path(os.environ.get("HUBSPOT_DEPLOY_VENV") or DEPLOY / ".venv").resolve()
WHEELS = DEPLOY / ".build" / VENV.name
LOCK = locks.ENVIRONMENTS["deploy-py3.11"]
DISTRIBUTION = "airflow-provider-hubspot-imports"


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


def build_wheel() -> Path:
    shutil.rmtree(WHEELS, ignore_errors=True)
    constraints = ["--build-constraint", str(locks.build_constraints())]
    run([locks.uv(), "build", "--wheel", "--quiet", "--out-dir", str(WHEELS), *constraints, str(REPO)])
    (wheel,) = WHEELS.glob("airflow_provider_hubspot_imports-*.whl")
    return wheel


def venv() -> Path:
    """Create or update the deployment's venv; returns its python. Skips the install when nothing changed."""
    apt_packages()
    wheel = build_wheel()
    try:
        python = locks.create_venv(LOCK, VENV)
        locks.check_fresh(LOCK)
        digest = hashlib.sha256(locks.stamp_text(LOCK).encode() + wheel.read_bytes()).hexdigest()
        stamp = VENV / ".deploy-stamp"
        if stamp.exists() and stamp.read_text() == digest:
            return python
        say(f"syncing {VENV} to locks/{LOCK.lock_path.name}, then {wheel.name} (no dependency resolved)")
        locks.sync(LOCK, python)
        run(
            [locks.uv(), "pip", "install", "--quiet", "--no-deps", "-p", str(python), str(wheel)],
            locks.uv_env(),
        )
        locks.check_installed(LOCK, python, also=[DISTRIBUTION])
    except locks.LockError as error:
        raise SystemExit(f"deploy: {error}") from None
    stamp.write_text(digest)
    return python
