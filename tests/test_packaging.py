"""Packaging: every module the package imports is declared, the version lives in one place, and the
provider info's how-to guides and logo exist. Read from pyproject.toml, so a new dependency or extra
needs no change here."""

from __future__ import annotations

import ast
import functools
import re
import sys
from collections.abc import Mapping
from importlib.metadata import PackageNotFoundError, distributions, packages_distributions, version
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

import airflow_provider_hubspot_imports as package

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover (Python 3.10)
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
PACKAGE_DIR = Path(package.__file__).parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text())
EXCEPTIONS = PYPROJECT["tool"]["airflow-provider-hubspot-imports"]["imports"]
# Extras for working on the project itself, never for code the package runs.
DEVELOPMENT_EXTRAS = {"test", "docs", "release"}


def requirements(*groups: str) -> list[Requirement]:
    """`dependencies` (group "") and the named optional-dependency groups, parsed."""
    project = PYPROJECT["project"]
    found = []
    for group in groups:
        lines = project["dependencies"] if group == "" else project["optional-dependencies"].get(group, [])
        found += [Requirement(line) for line in lines]
    return found


def third_party_imports(path: Path) -> set[str]:
    """Dotted names imported by one file (absolute imports only), past the standard library and this
    package, with `airflow.providers.<name>` kept whole (each is its own distribution), and
    `airflow.providers.common.<name>` too (apache-airflow-providers-common-sql, ...)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
    kept = set()
    for name in names:
        top = name.split(".")[0]
        if top in sys.stdlib_module_names or top == package.__name__:
            continue
        parts = name.split(".")
        if parts[:3] == ["airflow", "providers", "common"] and len(parts) > 3:
            kept.add(".".join(parts[:4]))
        else:
            kept.add(".".join(parts[:3]) if parts[:2] == ["airflow", "providers"] and len(parts) > 2 else top)
    return kept


@functools.cache
def _packages_distributions() -> Mapping[str, list[str]]:
    return packages_distributions()


@functools.cache
def _distributions_with_files_of(module: str) -> tuple[str, ...]:
    """Distributions whose RECORD lists files of a top-level module: Python 3.10's
    `packages_distributions` reads top_level.txt only, which hatch-built wheels (attrs,
    openlineage-python) do not have."""
    found = []
    for dist in distributions():
        record = "\n" + (dist.read_text("RECORD") or "")
        if f"\n{module}/" in record or f"\n{module}.py," in record:
            found.append(dist.metadata["Name"])
    return tuple(found)


def distributions_for(module: str) -> set[str]:
    """Canonical names of the distributions that can provide an imported module."""
    if module.startswith("airflow.providers."):
        return {canonicalize_name("apache-airflow-providers-" + "-".join(module.split(".")[2:]))}
    names = _packages_distributions().get(module) or _distributions_with_files_of(module)
    installed: set[str] = {canonicalize_name(name) for name in names}
    if module == "airflow":  # apache-airflow 3 is a meta distribution over apache-airflow-core
        installed.add("apache-airflow")
    # A module that is not installed here (an extra's) is taken to share its distribution's name.
    return installed or {canonicalize_name(module)}


def allowed_groups(path: Path) -> list[str]:
    extras = [
        name for name in PYPROJECT["project"]["optional-dependencies"] if name not in DEVELOPMENT_EXTRAS
    ]
    relative = path.relative_to(REPO).as_posix()
    if any(relative.startswith(prefix + "/") for prefix in EXCEPTIONS["test-extra-only"]):
        extras.append("test")
    return ["", *extras]


def undeclared_imports(files: list[Path]) -> dict[str, list[str]]:
    """Imported module -> files, for every module no allowed requirement provides."""
    missing: dict[str, list[str]] = {}
    for path in files:
        declared = {canonicalize_name(req.name) for req in requirements(*allowed_groups(path))}
        for module in third_party_imports(path):
            if module in EXCEPTIONS["provided-by-airflow-ui"]:
                continue
            if not distributions_for(module) & declared:
                missing.setdefault(module, []).append(path.relative_to(REPO).as_posix())
    return missing


def test_every_third_party_import_of_the_package_is_declared():
    files = sorted(PACKAGE_DIR.rglob("*.py"))
    assert len(files) > 20
    missing = undeclared_imports(files)
    assert not missing, (
        f"imported but not declared in pyproject.toml [project] dependencies (or an extra): {missing}; "
        "add each with a version range, or list it under [tool.airflow-provider-hubspot-imports.imports]"
    )


def test_the_import_scan_catches_an_undeclared_import(tmp_path, monkeypatch):
    """The check above can fail: a module importing an undeclared library is reported, a declared
    one and the standard library are not."""
    monkeypatch.setattr(sys.modules[__name__], "REPO", tmp_path)
    module = tmp_path / "airflow_provider_hubspot_imports" / "hooks" / "extra.py"
    module.parent.mkdir(parents=True)
    module.write_text(
        "import json\nimport requests\nfrom yaml import safe_load\n"
        "def f():\n    import airflow.providers.amazon.aws.hooks.s3\n"
    )
    assert undeclared_imports([module]) == {
        "yaml": ["airflow_provider_hubspot_imports/hooks/extra.py"],
        "airflow.providers.amazon": ["airflow_provider_hubspot_imports/hooks/extra.py"],
    }


def test_the_testing_package_may_use_the_test_extra_and_nothing_else_may():
    plugin = PACKAGE_DIR / "testing" / "pytest_plugin.py"
    assert "pytest" in third_party_imports(plugin)
    assert undeclared_imports([plugin]) == {}
    assert "test" not in allowed_groups(PACKAGE_DIR / "hooks" / "hubspot.py")


def test_declared_ranges_hold_for_what_is_installed():
    """Each CI environment (Airflow 2.11, 3.1, 3.3) runs this: the versions it tests are inside the
    declared ranges, so the ranges say what CI tests."""
    outside = []
    for req in requirements(""):
        try:
            installed = version(req.name)
        except PackageNotFoundError:
            outside.append(f"{req.name} is not installed")
            continue
        if not req.specifier.contains(installed, prereleases=True):
            outside.append(f"{req.name} {installed} is outside {req.specifier}")
    assert not outside


def test_the_version_is_semantic_and_written_once():
    assert re.fullmatch(r"(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)", package.__version__)
    assert PYPROJECT["project"]["dynamic"] == ["version"]
    assert "version" not in PYPROJECT["project"]
    assert PYPROJECT["tool"]["hatch"]["version"]["path"] == "airflow_provider_hubspot_imports/__init__.py"


def test_every_version_has_a_changelog_section_newest_first():
    changelog = (REPO / "CHANGELOG.md").read_text()
    headings = re.findall(r"^## \[(\d+\.\d+\.\d+)\]", changelog, flags=re.MULTILINE)
    assert headings == package.get_provider_info()["versions"]


@pytest.mark.parametrize("field", ["how-to-guide", "logo"])
def test_provider_info_points_at_files_in_the_repository(field):
    (integration,) = package.get_provider_info()["integrations"]
    paths = integration[field] if isinstance(integration[field], list) else [integration[field]]
    assert paths
    for path in paths:
        assert path.startswith("/") and (REPO / path.lstrip("/")).is_file(), path


def test_every_how_to_guide_is_in_the_docs_site_navigation():
    (integration,) = package.get_provider_info()["integrations"]
    mkdocs = (REPO / "mkdocs.yml").read_text()
    for guide in integration["how-to-guide"]:
        page = guide.removeprefix("/docs/")
        assert re.search(rf":\s*{re.escape(page)}\s*$", mkdocs, flags=re.MULTILINE), page


def test_project_urls_point_at_one_repository():
    urls = PYPROJECT["project"]["urls"]
    assert set(urls) >= {"Homepage", "Documentation", "Changelog", "Issues", "Source"}
    for url in urls.values():
        assert url.startswith("https://") and "airflow-provider-hubspot-imports" in url


def test_airflow_versions_ci_runs_are_allowed_and_3_0_is_not():
    """CI runs the suite on 2.11.2, 3.1.8 and 3.3.2; 3.0.x fails there (see the README), so pip must
    refuse to install the package beside it."""
    (airflow,) = [req for req in requirements("") if canonicalize_name(req.name) == "apache-airflow"]
    assert all(airflow.specifier.contains(v) for v in ("2.11.2", "3.1.8", "3.3.2", "3.4.0"))
    assert not any(airflow.specifier.contains(v) for v in ("2.10.5", "3.0.0", "3.0.6"))
