#!/usr/bin/env python3
"""The project's front door, needing nothing but Python 3.10+ and the package registry.

    python3 tools/dev.py example   # run example_hubspot_import_gate end to end against the emulator
    python3 tools/dev.py test      # ruff, mypy and the whole test suite

Both create (once) a virtual environment with uv, Apache Airflow and this package. Set
AIRFLOW_VERSION (default 3.3.2) to use another Airflow, e.g. AIRFLOW_VERSION=2.11.2; each version
gets its own environment. Standard library only: this file runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_AIRFLOW = "3.3.2"
TEST_EXTRAS = ["apache-airflow-providers-http"]


def say(message: str) -> None:
    print(f"[dev] {message}", flush=True)


def venv_dir(airflow_version: str) -> Path:
    return REPO / (".venv" if airflow_version == DEFAULT_AIRFLOW else f".venv-airflow-{airflow_version}")


def run(cmd: list[str], env: dict[str, str] | None = None) -> None:
    result = subprocess.run(cmd, cwd=REPO, env=env)
    if result.returncode != 0:
        raise SystemExit(result.returncode)


def uv_command(venv: Path) -> list[str]:
    found = shutil.which("uv")
    if found:
        return [found]
    local = venv / "bin" / "uv"
    if not local.exists():
        say("installing uv into the virtual environment (pip install uv)")
        run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "uv",
            ]
        )
    return [str(local)]


def bootstrap(airflow_version: str) -> Path:
    """Create or update the environment; returns its python. Skips the install when nothing changed."""
    venv = venv_dir(airflow_version)
    python = venv / "bin" / "python"
    if not python.exists():
        say(f"creating {venv.name} with {sys.executable} (Python {sys.version.split()[0]})")
        run([sys.executable, "-m", "venv", str(venv)])
    requirements = [f"apache-airflow=={airflow_version}", *TEST_EXTRAS]
    stamp_text = "\n".join([*requirements, (REPO / "pyproject.toml").read_text()])
    stamp = venv / ".hubspot-provider-stamp"
    digest = hashlib.sha256(stamp_text.encode()).hexdigest()
    if stamp.exists() and stamp.read_text() == digest:
        return python
    say(f"installing Apache Airflow {airflow_version} and this package (uv, compiled bytecode)")
    env = {**os.environ, "UV_COMPILE_BYTECODE": "1", "VIRTUAL_ENV": str(venv)}
    run(
        [*uv_command(venv), "pip", "install", "--quiet", "-p", str(python), "-e", ".[test]", *requirements],
        env,
    )
    stamp.write_text(digest)
    return python


def main(argv: list[str]) -> int:
    if len(argv) != 1 or argv[0] not in ("example", "test"):
        print(__doc__)
        return 2
    if sys.version_info < (3, 10):  # noqa: UP036 (this file runs before the venv exists)
        say(f"Python 3.10 or newer is needed; this is {sys.version.split()[0]}")
        return 2
    airflow_version = os.environ.get("AIRFLOW_VERSION", DEFAULT_AIRFLOW)
    python = bootstrap(airflow_version)
    # Let Python cache bytecode of this project's own modules: every `airflow` start is faster.
    env = {key: value for key, value in os.environ.items() if key != "PYTHONDONTWRITEBYTECODE"}
    if argv[0] == "example":
        run([str(python), str(REPO / "tools" / "run_example.py")], env)
        return 0
    bin_dir = python.parent
    say("ruff")
    run([str(bin_dir / "ruff"), "check", "."], env)
    run([str(bin_dir / "ruff"), "format", "--check", "."], env)
    say("mypy")
    run([str(bin_dir / "mypy")], env)
    say(f"pytest on Apache Airflow {airflow_version}")
    # The slowest tests are listed so that a suite growing slow on one Airflow version shows where.
    pytest = [str(python), "-m", "pytest", "-p", "no:cacheprovider", "--durations=15"]
    result = subprocess.run(pytest, cwd=REPO, env=env)
    if result.returncode == 5:
        say("pytest collected no tests: that is a failure")
        return 1
    return result.returncode


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
