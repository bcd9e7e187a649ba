"""Locked installs: one lock file per environment the project builds, made by `uv pip compile`.

Each environment (a test suite on one Airflow and Python version, the deployment, the docs and
release tools, the wheel check) asks for a few top-level requirements; its lock in `locks/` pins
every transitive dependency, with hashes, for one Python version. Installs sync the environment to
its lock exactly (`uv pip sync`, hashes required), put this project on top without resolving
anything, and fail when what is installed differs from the lock. The lock records a digest of what
its environment asked for when it was made: a lock older than `pyproject.toml` or this file is
refused with the command that refreshes it.

    python3 tools/dev.py lock              # refresh every lock, keeping current pins where they fit
    python3 tools/dev.py lock --upgrade    # take the newest releases that fit (then run CI)
    python3 tools/dev.py lock deploy-py3.11 ...   # only these

Standard library only: this runs before anything is installed.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
LOCKS = REPO / "locks"
# uv itself is pinned: one resolver, one lock format, on every machine. It lives in a venv of its own
# (`.venv-uv`), because syncing an environment removes whatever its lock does not list.
UV_VERSION = "0.13.9"
UV_VENV = REPO / ".venv-uv"
REFRESH_COMMAND = "python3 tools/dev.py lock"
INPUTS_MARK = "# inputs-sha256: "
# The build backend of this package (and what hatchling needs for an editable install): in every
# environment that installs the project from source, so that the install needs no build environment
# of its own, which would float.
BUILD_REQUIREMENTS = ("hatchling", "editables")
# Until a Celery provider release supports Celery 5.7 (5.7.0 removed celery.backends.database.retry,
# which apache-airflow-providers-celery 3.26.0 imports: workers die at start-up).
CELERY_CAP = "celery<5.7"


class LockError(Exception):
    """A lock that cannot be used as it is; the message names the fix."""


@dataclass(frozen=True)
class Environment:
    """What one environment asks for; its lock pins the rest."""

    name: str
    python: str  # "3.11": the lock holds for this minor version only
    requirements: tuple[str, ...] = ()
    extras: tuple[str, ...] = ()  # the package's optional dependency groups it includes
    package_dependencies: bool = True  # the package's own [project] dependencies
    purpose: str = ""

    @property
    def lock_path(self) -> Path:
        return LOCKS / f"{self.name}.txt"

    @property
    def input_path(self) -> Path:
        return LOCKS / "inputs" / f"{self.name}.in"


def _test_env(airflow: str, python: str) -> Environment:
    return Environment(
        name=f"test-airflow-{airflow}-py{python}",
        python=python,
        requirements=(f"apache-airflow=={airflow}", "apache-airflow-providers-http", *BUILD_REQUIREMENTS),
        extras=("test",),
        purpose=f"the test suite on Apache Airflow {airflow}",
    )


# CI runs the suite on Airflow 3.3.2 with Python 3.11, 3.1.8 with 3.13 (the newest Python the package
# allows) and 2.11.2 with 3.10 (the oldest). The other locks let `tools/dev.py` run on whichever
# supported Python a developer has.
TEST_MATRIX = {
    "3.3.2": ("3.10", "3.11", "3.12", "3.13"),
    "3.1.8": ("3.11", "3.13"),
    "2.11.2": ("3.10", "3.11"),
}
ENVIRONMENTS: dict[str, Environment] = {
    env.name: env
    for env in [
        *(_test_env(airflow, python) for airflow, pythons in TEST_MATRIX.items() for python in pythons),
        Environment(
            name="deploy-py3.11",
            python="3.11",
            requirements=(
                "apache-airflow==3.3.2",
                "apache-airflow-providers-celery>=3.26",
                CELERY_CAP,
                "redis",
                "asyncpg",
                "psycopg2-binary",
                "pytest>=8",
                "psutil",
            ),
            purpose="the deployment harness: PostgreSQL, Redis, Celery workers, two triggerers",
        ),
        Environment(
            name="wheel-airflow-3.3.2-py3.11",
            python="3.11",
            requirements=("apache-airflow==3.3.2",),
            purpose="the built wheel beside Apache Airflow 3.3.2, as a user installs it",
        ),
        Environment(
            name="release-py3.11",
            python="3.11",
            extras=("docs", "release"),
            package_dependencies=False,
            purpose="the documentation site and the distribution checks (no Airflow)",
        ),
    ]
}


def say(message: str) -> None:
    print(f"[lock] {message}", flush=True)


def run(cmd: Sequence[str | Path], env: dict[str, str] | None = None, capture: bool = False) -> str:
    result = subprocess.run(
        [str(part) for part in cmd], cwd=REPO, env=env, text=True, capture_output=capture, check=False
    )
    if result.returncode != 0:
        detail = f"\n{result.stdout}{result.stderr}" if capture else ""
        raise SystemExit(f"failed ({result.returncode}): {' '.join(str(part) for part in cmd)}{detail}")
    return result.stdout if capture else ""


def uv() -> str:
    """The pinned uv, installed once into `.venv-uv` with pip."""
    binary = UV_VENV / "bin" / "uv"
    if binary.exists() and (UV_VENV / f".uv-{UV_VERSION}").exists():
        return str(binary)
    say(f"installing uv {UV_VERSION} into {UV_VENV.name} (pip)")
    shutil.rmtree(UV_VENV, ignore_errors=True)
    run([sys.executable, "-m", "venv", UV_VENV])
    pip = [UV_VENV / "bin" / "python", "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    run([*pip, f"uv=={UV_VERSION}"])
    (UV_VENV / f".uv-{UV_VERSION}").touch()
    return str(binary)


def uv_env(**extra: str) -> dict[str, str]:
    # Never download an interpreter (these machines reach package registries only); compile bytecode:
    # every `airflow` start is seconds faster with .pyc files (PYTHONDONTWRITEBYTECODE is set here).
    return {**os.environ, "UV_PYTHON_DOWNLOADS": "never", "UV_COMPILE_BYTECODE": "1", **extra}


def _pyproject() -> dict:
    text = (REPO / "pyproject.toml").read_text()
    try:
        import tomllib
    except ImportError:  # Python 3.10: tomli (pytest's dependency there), or the copy pip vendors
        try:
            import tomli as tomllib  # type: ignore[no-redef]
        except ImportError:
            from pip._vendor import tomli as tomllib  # type: ignore[no-redef]
    return tomllib.loads(text)


def input_lines(env: Environment) -> list[str]:
    """The environment's top-level requirements: its own, the package's and its extras'."""
    project = _pyproject()["project"]
    lines = list(env.requirements)
    if env.package_dependencies:
        lines += project["dependencies"]
    for extra in env.extras:
        lines += project["optional-dependencies"][extra]
    return sorted(dict.fromkeys(line.strip() for line in lines))


def inputs_digest(env: Environment) -> str:
    return hashlib.sha256("\n".join([env.python, *input_lines(env)]).encode()).hexdigest()


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(text: str) -> dict[str, str]:
    """`name==version` lines of a lock (or of `uv pip freeze`), by canonical name."""
    pins = {}
    for line in text.splitlines():
        found = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(?:\[[^\]]*\])?==([^\s;\\]+)", line)
        if found:
            pins[canonical(found.group(1))] = found.group(2)
    return pins


def shown(path: Path) -> str:
    return str(path.relative_to(REPO)) if path.is_relative_to(REPO) else str(path)


def check_fresh(env: Environment) -> None:
    """Refuse a lock missing or made for other requirements, naming the command that fixes it."""
    if not env.lock_path.exists():
        raise LockError(f"{shown(env.lock_path)} is missing: run `{REFRESH_COMMAND} {env.name}`")
    recorded = next(
        (
            line[len(INPUTS_MARK) :]
            for line in env.lock_path.read_text().splitlines()
            if line.startswith(INPUTS_MARK)
        ),
        None,
    )
    if recorded != inputs_digest(env):
        raise LockError(
            f"{shown(env.lock_path)} was made for other requirements than {env.name} asks for now "
            f"(pyproject.toml or tools/locks.py changed since): run `{REFRESH_COMMAND} {env.name}`"
        )


def compile_lock(env: Environment, upgrade: bool = False) -> tuple[dict[str, str], dict[str, str]]:
    """Write the environment's lock; returns the pins before and after."""
    before = read_pins(env.lock_path.read_text()) if env.lock_path.exists() else {}
    env.input_path.parent.mkdir(parents=True, exist_ok=True)
    env.input_path.write_text(
        f"# What {env.name} asks for ({env.purpose}); generated by `{REFRESH_COMMAND}` from\n"
        "# tools/locks.py and pyproject.toml: do not edit.\n" + "\n".join(input_lines(env)) + "\n"
    )
    cmd = [
        uv(),
        "pip",
        "compile",
        env.input_path.relative_to(REPO),
        "--python-version",
        env.python,
        "--generate-hashes",
        "--quiet",
        "--custom-compile-command",
        REFRESH_COMMAND,
        "-o",
        env.lock_path.relative_to(REPO),
    ]
    run([*cmd, *(["--upgrade"] if upgrade else [])], uv_env())
    body = env.lock_path.read_text()
    header = (
        f"# environment: {env.name}, Python {env.python}: {env.purpose}\n{INPUTS_MARK}{inputs_digest(env)}\n"
    )
    env.lock_path.write_text(
        header
        + "".join(
            line + "\n" for line in body.splitlines() if not line.startswith(("# environment: ", INPUTS_MARK))
        )
    )
    return before, read_pins(env.lock_path.read_text())


def describe_change(name: str, before: dict[str, str], after: dict[str, str]) -> list[str]:
    lines = []
    for package in sorted(before.keys() | after.keys()):
        old, new = before.get(package), after.get(package)
        if old == new:
            continue
        if old is None:
            lines.append(f"  + {package} {new}")
        elif new is None:
            lines.append(f"  - {package} {old}")
        else:
            lines.append(f"  ~ {package} {old} -> {new}")
    heading = f"{name}: {len(after)} pinned, " + (f"{len(lines)} changed" if lines else "unchanged")
    return [heading, *lines]


def refresh(names: Iterable[str], upgrade: bool = False) -> int:
    chosen = list(names) or list(ENVIRONMENTS)
    unknown = [name for name in chosen if name not in ENVIRONMENTS]
    if unknown:
        say(f"no environment named {', '.join(unknown)}; the environments: {', '.join(ENVIRONMENTS)}")
        return 2
    for name in chosen:
        before, after = compile_lock(ENVIRONMENTS[name], upgrade=upgrade)
        for line in describe_change(name, before, after):
            say(line)
    return 0


def _is_python(candidate: str, version: str) -> bool:
    check = [candidate, "-c", "import sys; print('%d.%d' % sys.version_info[:2])"]
    try:
        result = subprocess.run(check, capture_output=True, text=True, timeout=30, check=False)
    except OSError:
        return False
    return result.returncode == 0 and result.stdout.strip() == version


def python_for(env: Environment) -> str:
    """An interpreter of the lock's Python version on this machine, or a clear error. A pyenv shim
    answers only for the versions pyenv has selected, so pyenv's own installs are looked at too."""
    if f"{sys.version_info.major}.{sys.version_info.minor}" == env.python:
        return sys.executable
    pyenv_root = Path(os.environ.get("PYENV_ROOT") or Path.home() / ".pyenv")
    candidates = [
        shutil.which(f"python{env.python}"),
        *sorted(
            (str(path) for path in pyenv_root.glob(f"versions/{env.python}.*/bin/python{env.python}")),
            reverse=True,
        ),
    ]
    for candidate in candidates:
        if candidate and _is_python(candidate, env.python):
            return candidate
    raise LockError(
        f"{env.name} needs Python {env.python}, and no working python{env.python} was found on PATH or in "
        f"pyenv's versions. Install it, or pick a lock made for a Python you have (HUBSPOT_DEV_PYTHON=3.X; "
        f"locks: {', '.join(ENVIRONMENTS)})"
    )


def create_venv(env: Environment, venv: Path) -> Path:
    """A new venv of the lock's Python (recreated when it is of another one); its python."""
    python = venv / "bin" / "python"
    config = venv / "pyvenv.cfg"
    if python.exists() and config.exists():
        version = re.search(r"^version(?:_info)?\s*=\s*(\d+\.\d+)", config.read_text(), re.M)
        if version and version.group(1) == env.python:
            return python
        shutil.rmtree(venv)
    run([uv(), "venv", "--quiet", "--python", python_for(env), venv], uv_env())
    return python


def sync(env: Environment, python: Path) -> None:
    """Make the environment exactly its lock: hashes checked, anything the lock does not list removed."""
    check_fresh(env)
    run([uv(), "pip", "sync", "--quiet", "--require-hashes", "-p", python, env.lock_path], uv_env())
    # `uv pip sync` leaves the seed packages of a venv made by `python -m venv` (pip, setuptools).
    unlisted = set(installed(python)) - set(read_pins(env.lock_path.read_text()))
    if unlisted:
        run([uv(), "pip", "uninstall", "--quiet", "-p", python, *sorted(unlisted)], uv_env())


def installed(python: Path) -> dict[str, str]:
    return read_pins(run([uv(), "pip", "freeze", "-p", python], uv_env(), capture=True))


def check_installed(env: Environment, python: Path, also: Iterable[str] = ()) -> None:
    """Fail when an installed distribution's version is not its lock's (`also`: names beside it)."""
    found = installed(python)
    expected = read_pins(env.lock_path.read_text())
    allowed = {canonical(name) for name in also}
    drift = [
        f"{name} {found.get(name, 'missing')} (lock: {expected.get(name, 'not listed')})"
        for name in sorted(found.keys() | expected.keys())
        if name not in allowed and found.get(name) != expected.get(name)
    ]
    if drift:
        raise LockError(f"{python} differs from {shown(env.lock_path)}: " + "; ".join(drift))
    run([uv(), "pip", "check", "--quiet", "-p", python], uv_env())


def build_constraints() -> Path:
    """The default test lock's pins without hashes, as constraints for `uv build`: the build backend
    (hatchling, which the lock holds) at the locked version, where a build environment would float."""
    pins = read_pins(ENVIRONMENTS["test-airflow-3.3.2-py3.11"].lock_path.read_text())
    path = REPO / ".build-constraints.txt"
    path.write_text("".join(f"{name}=={version}\n" for name, version in sorted(pins.items())))
    return path


def stamp_text(env: Environment, *more: str) -> str:
    """What an install depends on: the lock's bytes and anything else the caller names."""
    return hashlib.sha256("\n".join([env.lock_path.read_text(), *more]).encode()).hexdigest()
