#!/usr/bin/env python3
"""The project's front door, needing nothing but Python 3.10+ and the package registry.

    python3 tools/dev.py example   # run example_hubspot_import_gate end to end against the emulator
    python3 tools/dev.py test      # ruff, mypy and the whole test suite
    python3 tools/dev.py lock [--upgrade] [ENVIRONMENT ...]   # refresh the lock files (tools/locks.py)
    python3 tools/dev.py test --unlocked   # the suite on the newest releases: upstream breaks, early

Both create (once) a virtual environment with uv, synced exactly to its lock in `locks/` (Apache
Airflow, every transitive dependency, hashes checked), and this package editable on top. Set
AIRFLOW_VERSION (default 3.3.2) to use another Airflow, e.g. AIRFLOW_VERSION=2.11.2, and
HUBSPOT_DEV_PYTHON (default: the Python running this file) to use another Python, e.g. 3.13; each
pair gets its own environment and lock. Standard library only: this file runs before anything is installed.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import locks

REPO = locks.REPO
DEFAULT_AIRFLOW = "3.3.2"
PROJECT = "airflow-provider-hubspot-imports"
UNLOCKED_ENV = "HUBSPOT_UNLOCKED"


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def running_python() -> str:
    return f"{sys.version_info.major}.{sys.version_info.minor}"


def environment(airflow_version: str, python_version: str | None = None) -> locks.Environment:
    """The locked test environment for this Airflow and Python, or a clear error naming the choices."""
    python_version = python_version or os.environ.get("HUBSPOT_DEV_PYTHON") or running_python()
    name = f"test-airflow-{airflow_version}-py{python_version}"
    if name not in locks.ENVIRONMENTS:
        made = [env for env in locks.ENVIRONMENTS if env.startswith(f"test-airflow-{airflow_version}-")]
        hint = (
            f"locks for Airflow {airflow_version}: {', '.join(made)}; "
            "set HUBSPOT_DEV_PYTHON to one of their Pythons"
            if made
            else f"add it to TEST_MATRIX in tools/locks.py and run `{locks.REFRESH_COMMAND}`"
        )
        raise SystemExit(
            f"[dev] no lock for Apache Airflow {airflow_version} on Python {python_version}: {hint}"
        )
    return locks.ENVIRONMENTS[name]


def venv_dir(env: locks.Environment, unlocked: bool = False) -> Path:
    if unlocked:
        return REPO / f".venv-unlocked-{env.name.removeprefix('test-')}"
    if env.name == f"test-airflow-{DEFAULT_AIRFLOW}-py{running_python()}":
        return REPO / ".venv"
    return REPO / f".venv-{env.name.removeprefix('test-')}"


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(cmd, cwd=REPO, env=env)
    if result.returncode != 0:
        raise SystemExit(result.returncode)


def uv_command(venv: Path | None = None) -> list[str]:
    """The pinned uv (the argument is kept for callers that passed a venv)."""
    return [locks.uv()]


def install_project(python: Path) -> None:
    """This package, editable, on top of a synced environment: nothing resolved, nothing else changed."""
    run(
        [
            locks.uv(),
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-p",
            str(python),
            "-e",
            ".",
        ],
        locks.uv_env(),
    )


def bootstrap(airflow_version: str, python_version: str | None = None, unlocked: bool = False) -> Path:
    """Create or update the environment; returns its python. Skips the install when nothing changed."""
    env = environment(airflow_version, python_version)
    venv = venv_dir(env, unlocked)
    try:
        python = locks.create_venv(env, venv)
        stamp = venv / ".hubspot-provider-stamp"
        if unlocked:
            say(
                f"installing the newest releases that fit {env.name}'s requirements "
                f"into {venv.name} (no lock)"
            )
            requirements = locks.input_lines(env)
            run(
                [locks.uv(), "pip", "install", "--quiet", "--upgrade", "-p", str(python), *requirements],
                locks.uv_env(),
            )
            install_project(python)
            stamp.unlink(missing_ok=True)
            return python
        locks.check_fresh(env)
        digest = locks.stamp_text(env, (REPO / "pyproject.toml").read_text())
        if stamp.exists() and stamp.read_text() == digest:
            return python
        say(
            f"syncing {venv.name} to locks/{env.lock_path.name} "
            f"(Apache Airflow {airflow_version}, Python {env.python})"
        )
        locks.sync(env, python)
        install_project(python)
        locks.check_installed(env, python, also=[PROJECT])
    except locks.LockError as error:
        raise SystemExit(f"[dev] {error}") from None
    stamp.write_text(digest)
    return python


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 10):  # noqa: UP036 (this file runs before the venv exists)
        say(f"Python 3.10 or newer is needed; this is {sys.version.split()[0]}")
        return 2
    if argv[:1] == ["lock"]:
        upgrade = "--upgrade" in argv
        return locks.refresh([arg for arg in argv[1:] if arg != "--upgrade"], upgrade=upgrade)
    unlocked = "--unlocked" in argv or os.environ.get(UNLOCKED_ENV) == "1"
    argv = [arg for arg in argv if arg != "--unlocked"]
    if len(argv) != 1 or argv[0] not in ("example", "test"):
        print(__doc__)
        return 2
    airflow_version = os.environ.get("AIRFLOW_VERSION", DEFAULT_AIRFLOW)
    python = bootstrap(airflow_version, unlocked=unlocked)
    lock = environment(airflow_version).lock_path
    # Let Python cache bytecode of this project's own modules: every `airflow` start is faster.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    # tests/test_locks.py checks every installed distribution against the lock the environment was synced to.
    env.pop("HUBSPOT_LOCK_FILE", None)
    if not unlocked:
        env["HUBSPOT_LOCK_FILE"] = str(lock)
    if argv[0] == "example":
        run([str(python), str(REPO / "tools" / "run_example.py")], env)
        return 0
    bin_dir = python.parent
    say("ruff")
    run([str(bin_dir / "ruff"), "check", "."], env)
    run([str(bin_dir / "ruff"), "format", "--check", "."], env)
    say("mypy")
    run([str(bin_dir / "mypy")], env)
    say(
        f"pytest on Apache Airflow {airflow_version}, Python {environment(airflow_version).python}"
        + (" (unlocked)" if unlocked else "")
    )
    # The slowest tests are listed so that a suite growing slow on one Airflow version shows where.
    pytest = [str(python), "-m", "pytest", "-p", "no:cacheprovider", "--durations=15"]
    result = subprocess.run(pytest, cwd=REPO, env=env)
    if result.returncode == 5:
        say("pytest collected no tests: that is a failure")
        return 1
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
