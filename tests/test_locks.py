"""Locked installs: each environment the project builds is its lock, and every lock is current."""

from __future__ import annotations

import importlib.metadata
import os
import re
import sys
from pathlib import Path

import pytest

TOOLS = Path(__file__).resolve().parent.parent / "tools"
sys.path.insert(0, str(TOOLS))
import locks  # noqa: E402

PROJECT = "airflow-provider-hubspot-imports"


def installed_distributions() -> dict[str, str]:
    return {
        locks.canonical(dist.metadata["Name"]): dist.version
        for dist in importlib.metadata.distributions()
        if dist.metadata["Name"]
    }


@pytest.mark.skipif(
    not os.environ.get("HUBSPOT_LOCK_FILE"),
    reason="run through `python3 tools/dev.py test`, which names the lock this environment was synced to "
    "(unset in `--unlocked` runs)",
)
def test_every_installed_distribution_is_the_version_its_lock_pins():
    lock = Path(os.environ["HUBSPOT_LOCK_FILE"])
    expected = locks.read_pins(lock.read_text())
    found = installed_distributions()
    found.pop(PROJECT, None)
    drift = {
        name: (found.get(name), expected.get(name))
        for name in found.keys() | expected.keys()
        if found.get(name) != expected.get(name)
    }
    assert drift == {}, f"installed vs {lock.name}: {drift}"
    assert "apache-airflow" in expected and "pytest" in expected


@pytest.mark.parametrize("name", sorted(locks.ENVIRONMENTS))
def test_each_lock_was_made_for_what_its_environment_asks_for_now(name):
    env = locks.ENVIRONMENTS[name]
    locks.check_fresh(env)  # raises LockError naming the refresh command
    text = env.lock_path.read_text()
    pinned = locks.read_pins(text)
    for requirement in locks.input_lines(env):
        requested = locks.canonical(re.split(r"[<>=!~\[; ]", requirement, maxsplit=1)[0])
        assert requested in pinned, f"{requirement} is not pinned in {env.lock_path.name}"
    # Hashes on every pin: `uv pip sync --require-hashes` refuses a lock without them.
    assert text.count("==") == len(pinned) and text.count("--hash=sha256:") >= len(pinned)


def test_a_lock_made_for_other_requirements_is_refused_with_the_command_that_refreshes_it(
    tmp_path, monkeypatch
):
    env = locks.ENVIRONMENTS["release-py3.11"]
    stale = tmp_path / env.lock_path.name
    stale.write_text(env.lock_path.read_text().replace(locks.inputs_digest(env), "0" * 64))
    monkeypatch.setattr(locks, "LOCKS", tmp_path)
    with pytest.raises(locks.LockError, match=r"python3 tools/dev.py lock release-py3.11"):
        locks.check_fresh(env)


def test_the_deployment_stays_below_the_celery_the_newest_celery_provider_cannot_import():
    pins = locks.read_pins(locks.ENVIRONMENTS["deploy-py3.11"].lock_path.read_text())
    major, minor = (int(part) for part in pins["celery"].split(".")[:2])
    assert (major, minor) < (5, 7)
    assert {"redis", "apache-airflow-providers-celery", "asyncpg", "psycopg2-binary"} <= pins.keys()


def test_ci_covers_the_oldest_and_the_newest_python_the_package_allows():
    ci = (TOOLS.parent / ".ci" / "run").read_text()
    assert "HUBSPOT_DEV_PYTHON=3.10" in ci and "HUBSPOT_DEV_PYTHON=3.13" in ci
    pythons = {env.python for env in locks.ENVIRONMENTS.values()}
    assert {"3.10", "3.13"} <= pythons


def test_the_change_report_names_what_was_added_removed_and_moved():
    lines = locks.describe_change(
        "deploy-py3.11",
        {"celery": "5.6.3", "kombu": "5.5.0"},
        {"celery": "5.6.3", "redis": "6.4.0", "kombu": "5.6.0"},
    )
    assert lines == ["deploy-py3.11: 3 pinned, 2 changed", "  ~ kombu 5.5.0 -> 5.6.0", "  + redis 6.4.0"]
