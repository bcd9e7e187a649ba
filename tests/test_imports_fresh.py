"""Every public module of the package imports on its own, in a fresh interpreter: no import circle
hides behind the order in which a DAG file or a test happened to import things."""

from __future__ import annotations

import pkgutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import airflow_provider_hubspot_imports as package


def public_modules() -> list[str]:
    names = [package.__name__]
    for info in pkgutil.walk_packages(package.__path__, prefix=package.__name__ + "."):
        if not any(part.startswith("_") for part in info.name.split(".")):
            names.append(info.name)
    return sorted(names)


def import_alone(name: str) -> tuple[str, int, str]:
    done = subprocess.run(
        [sys.executable, "-c", f"import {name}"], capture_output=True, text=True, timeout=120, check=False
    )
    return name, done.returncode, done.stderr[-2000:]


def test_the_list_holds_the_modules_that_had_circles():
    names = public_modules()
    for name in ("operators.export", "operators.imports", "triggers.imports", "waiting", "testing.oauth"):
        assert f"{package.__name__}.{name}" in names


def test_every_public_module_imports_alone_in_a_fresh_interpreter():
    with ThreadPoolExecutor(max_workers=2) as pool:  # two cores at most
        results = list(pool.map(import_alone, public_modules()))
    failed = {name: stderr for name, code, stderr in results if code != 0}
    assert not failed, failed
