#!/usr/bin/env python3
"""Release checks, run by CI: the documentation site and the distributions as a user gets them.

    python3 tools/release_check.py docs      # mkdocs build --strict from the `docs` extra, into site/
    python3 tools/release_check.py package   # uv build; LICENSE in both; twine check --strict; the wheel
                                             # installed beside Airflow 3.3.2 in a fresh venv: what
                                             # `airflow providers` lists, and the example DAG run from it
    python3 tools/release_check.py           # both

`docs` and `twine` run from `.venv-release` (the `docs` and `release` extras only, no Airflow). The
wheel goes into a new virtual environment in a temporary folder, removed when every check passed.
Standard library only, like tools/dev.py, whose uv and paths it reuses.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
import dev

import locks

REPO = dev.REPO
DISTRIBUTION = "airflow-provider-hubspot-imports"
PACKAGE = "airflow_provider_hubspot_imports"
EXAMPLE_DAG = "example_hubspot_import_gate.py"
TOOLS_VENV = REPO / ".venv-release"
SITE = REPO / "site"


class CheckFailed(Exception):
    """A release check that did not hold; the message says what and where."""


def say(message: str) -> None:
    print(f"[release] {message}", flush=True)


@contextmanager
def step(name: str) -> Iterator[None]:
    started = time.monotonic()
    say(f"{name} ...")
    yield
    say(f"{name}: ok ({time.monotonic() - started:.1f} s)")


def run(cmd: Sequence[str | Path], *, cwd: Path = REPO, env: dict[str, str] | None = None) -> str:
    """Run a command; its output on success, CheckFailed with the output otherwise."""
    result = subprocess.run(
        [str(part) for part in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=1200
    )
    if result.returncode != 0:
        raise CheckFailed(
            f"{' '.join(str(part) for part in cmd)} exited {result.returncode}:\n"
            f"{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
        )
    return result.stdout


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without anything that could put the checkout on sys.path, bytecode on."""
    drop = {"PYTHONPATH", "PYTHONDONTWRITEBYTECODE", "VIRTUAL_ENV", "PYTHONHOME"}
    env = {
        key: value for key, value in os.environ.items() if key not in drop and not key.startswith("AIRFLOW")
    }
    return {**env, "UV_COMPILE_BYTECODE": "1", "NO_MKDOCS_2_WARNING": "1", **extra}


def pyproject() -> dict[str, Any]:
    try:
        import tomllib
    except ImportError:  # Python 3.10: pip vendors the same parser
        from pip._vendor import tomli as tomllib  # type: ignore[no-redef]
    return tomllib.loads((REPO / "pyproject.toml").read_text())


def package_version() -> str:
    found = re.search(r'^__version__ = "([^"]+)"$', (REPO / PACKAGE / "__init__.py").read_text(), re.M)
    if not found:
        raise CheckFailed(f"no __version__ line in {PACKAGE}/__init__.py")
    return found.group(1)


def uv() -> list[str]:
    return [locks.uv()]


def tools_venv() -> Path:
    """`.venv-release`, synced to its lock (the `docs` and `release` extras, no Airflow); its bin folder."""
    env = locks.ENVIRONMENTS["release-py3.11"]
    python = locks.create_venv(env, TOOLS_VENV)
    stamp = TOOLS_VENV / ".release-stamp"
    locks.check_fresh(env)
    digest = locks.stamp_text(env)
    if stamp.exists() and stamp.read_text() == digest:
        return python.parent
    say(f"syncing {TOOLS_VENV.name} to locks/{env.lock_path.name}")
    locks.sync(env, python)
    locks.check_installed(env, python)
    stamp.write_text(digest)
    return python.parent


# ---- docs ---------------------------------------------------------------------------------------


def check_docs() -> None:
    bin_dir = tools_venv()
    with step("mkdocs build --strict"):
        run([bin_dir / "mkdocs", "build", "--strict", "--clean", "--site-dir", SITE], env=clean_env())
        if not (SITE / "index.html").is_file():
            raise CheckFailed(f"mkdocs built no {SITE / 'index.html'}")
        sensor_page = (SITE / "reference" / "sensors" / "index.html").read_text()
        # The API reference is generated from the docstrings, parameters included.
        for expected in ("ImportStateSensor", "poke_interval", "max_error_ratio"):
            if expected not in sensor_page:
                raise CheckFailed(f"the API reference page of the sensor does not mention {expected}")
    say(f"docs site in {SITE.relative_to(REPO)}/ ({sum(1 for _ in SITE.rglob('*.html'))} pages)")


# ---- package ------------------------------------------------------------------------------------


def build(out_dir: Path) -> tuple[Path, Path]:
    version = package_version()
    with step("uv build (sdist and wheel)"):
        run([*uv(), "build", "--quiet", "--out-dir", out_dir, *build_constraints()], env=clean_env())
    wheels, sdists = sorted(out_dir.glob("*.whl")), sorted(out_dir.glob("*.tar.gz"))
    stem = f"{PACKAGE}-{version}"
    if [w.name for w in wheels] != [f"{stem}-py3-none-any.whl"] or [s.name for s in sdists] != [
        f"{stem}.tar.gz"
    ]:
        raise CheckFailed(f"expected one wheel and one sdist of version {version}; got {wheels + sdists}")
    return wheels[0], sdists[0]


def build_constraints() -> list[str]:
    """The build backend at the version the locks pin (a build environment would float otherwise)."""
    return ["--build-constraint", str(locks.build_constraints())]


def check_license(wheel: Path, sdist: Path) -> None:
    license_text = (REPO / "LICENSE").read_bytes()
    with step("LICENSE in the wheel and the sdist"):
        with zipfile.ZipFile(wheel) as archive:
            names = [n for n in archive.namelist() if n.endswith(".dist-info/licenses/LICENSE")]
            if len(names) != 1 or archive.read(names[0]) != license_text:
                raise CheckFailed(f"{wheel.name} does not carry LICENSE as in the checkout (found {names})")
            metadata = archive.read(next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA")))
        for line in (b"License-Expression: Apache-2.0", b"License-File: LICENSE", b"Project-URL: Changelog"):
            if line not in metadata:
                raise CheckFailed(f"{wheel.name} METADATA lacks {line.decode()!r}")
        with tarfile.open(sdist) as archive:
            member = f"{sdist.name.removesuffix('.tar.gz')}/LICENSE"
            handle = archive.extractfile(member) if member in archive.getnames() else None
            if handle is None or handle.read() != license_text:
                raise CheckFailed(f"{sdist.name} does not carry {member} as in the checkout")


def check_twine(wheel: Path, sdist: Path) -> None:
    bin_dir = tools_venv()
    with step("twine check --strict"):
        run([bin_dir / "twine", "check", "--strict", wheel, sdist], env=clean_env())


def install_wheel(wheel: Path, venv: Path) -> Path:
    """A new venv with Apache Airflow from its lock, then the wheel (not editable), whose dependencies
    must already be met: what a user gets who installs it with their Airflow's constraints; its python."""
    env = locks.ENVIRONMENTS[f"wheel-airflow-{dev.DEFAULT_AIRFLOW}-py3.11"]
    with step(
        f"install the wheel beside Apache Airflow {dev.DEFAULT_AIRFLOW} ({env.lock_path.name}) in a new venv"
    ):
        python = locks.create_venv(env, venv)
        locks.sync(env, python)
        run([*uv(), "pip", "install", "--quiet", "-p", python, wheel], env=clean_env())
        # The wheel's requirements resolved to nothing new: every other version is still the lock's.
        locks.check_installed(env, python, also=[DISTRIBUTION])
        where = run(
            [python, "-c", f"import {PACKAGE} as p; print(p.__file__)"], cwd=venv.parent, env=clean_env()
        )
        if not Path(where.strip()).is_relative_to(venv):
            raise CheckFailed(f"{PACKAGE} was imported from {where.strip()}, not from the installed wheel")
    return python


def airflow_json(python: Path, home: Path, *args: str) -> Any:
    """`airflow <args> -o json`, parsed (Airflow may print log lines before the JSON)."""
    out = run(
        [python.parent / "airflow", *args, "-o", "json"],
        cwd=home,
        env=clean_env(AIRFLOW_HOME=str(home), AIRFLOW__LOGGING__LOGGING_LEVEL="ERROR"),
    )
    start = min(i for i in (out.find("["), out.find("{")) if i >= 0)
    return json.loads(out[start:])


def check_providers_cli(python: Path, home: Path) -> None:
    """What `airflow providers` lists, against the provider info the installed package declares."""
    version = package_version()
    with step(f"airflow providers get/hooks/triggers/links list {DISTRIBUTION}"):
        (info,) = airflow_json(python, home, "providers", "get", DISTRIBUTION, "--full")
        if info.get("package-name") != DISTRIBUTION or info.get("versions", [None])[0] != version:
            raise CheckFailed(
                f"`airflow providers get` shows {info.get('package-name')} {info.get('versions')}"
            )
        connection_types = {c["connection-type"]: c["hook-class-name"] for c in info["connection-types"]}
        trigger_modules = {m for t in info["triggers"] for m in t["python-modules"]}
        links = set(info["extra-links"])
        if "hubspot" not in connection_types or not trigger_modules or not links or not info["hooks"]:
            raise CheckFailed(f"provider info lacks a connection type, hook, trigger or link: {info}")

        hooks = airflow_json(python, home, "providers", "hooks")
        listed_hooks = {
            h["connection_type"]: h["class"] for h in hooks if h.get("package_name") == DISTRIBUTION
        }
        if listed_hooks != connection_types:
            raise CheckFailed(f"`airflow providers hooks` lists {listed_hooks}, expected {connection_types}")

        triggers = airflow_json(python, home, "providers", "triggers")
        listed_triggers = {t["class"] for t in triggers if t.get("package_name") == DISTRIBUTION}
        if listed_triggers != trigger_modules:
            raise CheckFailed(
                f"`airflow providers triggers` lists {listed_triggers}, expected {trigger_modules}"
            )

        listed_links = {
            link["extra_link_class_name"] for link in airflow_json(python, home, "providers", "links")
        }
        if not links <= listed_links:
            raise CheckFailed(f"`airflow providers links` lacks {sorted(links - listed_links)}")
    say(
        f"listed: {DISTRIBUTION} {version}; connection type(s) {sorted(connection_types)}; "
        f"hooks {sorted(listed_hooks.values())}; triggers {sorted(listed_triggers)}; links {sorted(links)}"
    )


def run_example(python: Path, workdir: Path) -> None:
    """The gate example against the emulator, from copies outside the checkout: nothing of the
    checkout is on sys.path, so the DAG and the emulator come from the installed wheel."""
    dags, home = workdir / "dags", workdir / "example-home"
    dags.mkdir()
    shutil.copy(REPO / "example_dags" / EXAMPLE_DAG, dags / EXAMPLE_DAG)
    runner = shutil.copy(REPO / "tools" / "run_example.py", workdir / "run_example.py")
    with step(f"run {EXAMPLE_DAG} from the installed wheel against the emulator"):
        out = run([python, runner, "--home", home, "--dags-folder", dags], cwd=workdir, env=clean_env())
        if "example_hubspot_import_gate succeeded" not in out or '"state": "DONE"' not in out:
            raise CheckFailed(f"the example did not end with a DONE import:\n{out[-3000:]}")


def check_package() -> None:
    workdir = Path(tempfile.mkdtemp(prefix="hubspot-release-"))
    wheel, sdist = build(workdir / "dist")
    check_license(wheel, sdist)
    check_twine(wheel, sdist)
    python = install_wheel(wheel, workdir / "venv")
    home = workdir / "airflow-home"
    home.mkdir()
    check_providers_cli(python, home)
    run_example(python, workdir)
    shutil.rmtree(workdir)
    say(f"{wheel.name} and {sdist.name}: every check passed")


def main(argv: list[str]) -> int:
    checks = {"docs": [check_docs], "package": [check_package], "all": [check_docs, check_package]}
    if len(argv) > 1 or (argv and argv[0] not in checks):
        print(__doc__)
        return 2
    started = time.monotonic()
    try:
        for check in checks[argv[0] if argv else "all"]:
            check()
    except CheckFailed as failure:
        say(f"FAILED: {failure}")
        return 1
    say(f"done in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
