"""Setup: the README's two commands, .ci/run, the direct requirements (requirements.in), the lock generated from
them (requirements.txt), the conda environment and pyproject's ranges all agree."""
from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from packaging.markers import Marker
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parent.parent
LOCK = ROOT / "requirements.txt"
DIRECT = ROOT / "requirements.in"

#: how the README and CI install: the lock with its hashes, then the library alone
INSTALL = ".venv/bin/pip install --require-hashes -r requirements.txt && .venv/bin/pip install --no-deps -e ."


def readme_commands() -> list[str]:
    """The shell commands of the README's first code block, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```(?:bash|sh)\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def direct_pins() -> dict[str, str]:
    """requirements.in's pins, by canonical name."""
    found = {}
    for line in DIRECT.read_text(encoding="utf-8").splitlines():
        line = line.split("#")[0].strip()
        if line:
            requirement = Requirement(line)
            (specifier,) = requirement.specifier
            assert specifier.operator == "==", f"requirements.in: {line!r} is not pinned with =="
            found[canonicalize_name(requirement.name)] = specifier.version
    return found


def lock_entries() -> list[tuple[Requirement, list[str]]]:
    """Each requirement of the lock with its hashes (a requirement spans its continuation lines)."""
    text = LOCK.read_text(encoding="utf-8")
    entries = []
    for logical in re.sub(r"\\\n", " ", text).splitlines():
        logical = re.split(r"(?:^|\s)#", logical, maxsplit=1)[0].strip()
        if not logical:
            continue
        hashes = re.findall(r"--hash=(sha256:[0-9a-f]{64})", logical)
        requirement = Requirement(re.sub(r"\s--hash=\S+", "", logical).strip())
        entries.append((requirement, hashes))
    return entries


def locked_here() -> dict[str, str]:
    """The lock's pins that apply to the running interpreter and platform, by canonical name."""
    found = {}
    for requirement, _ in lock_entries():
        if requirement.marker is None or requirement.marker.evaluate():
            (specifier,) = requirement.specifier
            name = canonicalize_name(requirement.name)
            assert name not in found, f"requirements.txt pins {name} twice for this platform"
            found[name] = specifier.version
    return found


def test_readme_opens_with_a_build_command_and_a_test_command():
    build, test = readme_commands()[:2]
    assert build == f"python3 -m venv .venv && {INSTALL} && .venv/bin/jupyter-book build . -W -n --keep-going"
    assert test == f"python3 -m venv .venv && {INSTALL} && .venv/bin/python -m pytest"


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert readme_commands()[1] in ci.splitlines()


def test_lock_records_its_generator_command():
    header = LOCK.read_text(encoding="utf-8").split("\n\n")[0]
    command = re.search(r"^#\s+(uv pip compile .*)$", header, re.M)
    assert command, "requirements.txt's header does not record the command that generated it"
    words = command.group(1).split()
    assert "requirements.in" in words and "--generate-hashes" in words and "--universal" in words
    assert words[words.index("-o") + 1] == "requirements.txt"


def test_lock_pins_every_package_with_hashes_and_no_editable():
    entries = lock_entries()
    assert len(entries) >= 100
    for requirement, hashes in entries:
        assert [s.operator for s in requirement.specifier] == ["=="], f"{requirement} is not pinned"
        assert hashes, f"{requirement.name} has no hash"
        assert not requirement.url and not requirement.extras, f"{requirement} is not a plain pin"
    assert not re.search(r"^\s*(-e|--editable)\b", LOCK.read_text(encoding="utf-8"), re.M)


def test_lock_has_every_direct_requirement_at_its_version():
    locked = locked_here()
    assert {name: locked.get(name) for name in direct_pins()} == direct_pins()


def test_lock_is_closed_over_the_installed_dependencies():
    """Each locked package's own requirements (for this platform, without extras) are in the lock and satisfied
    by its pin: a dependency missing from the lock would make `pip install --require-hashes` fail."""
    from importlib.metadata import PackageNotFoundError, requires

    locked = locked_here()
    missing = {}
    for name in locked:
        try:
            needs = requires(name) or []
        except PackageNotFoundError:
            pytest.fail(f"{name} is locked but not installed: install the lock (README)")
        for need in map(Requirement, needs):
            if need.marker is not None and not need.marker.evaluate({"extra": ""}):
                continue
            dependency = canonicalize_name(need.name)
            if dependency not in locked or not need.specifier.contains(locked[dependency], prereleases=True):
                missing[f"{name} needs {need}"] = locked.get(dependency, "not locked")
    assert missing == {}


def test_installed_versions_are_the_locked_ones():
    from importlib.metadata import PackageNotFoundError, version

    def installed(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return "not installed"

    wrong = {name: (pinned, installed(name)) for name, pinned in locked_here().items() if installed(name) != pinned}
    assert wrong == {}


@pytest.mark.slow
def test_pip_check_is_clean():
    check = subprocess.run([sys.executable, "-m", "pip", "check"], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_environment_yml_installs_the_lock():
    """The conda environment takes Python 3.11 from conda and every package from the lock (pip), or, where it
    names packages itself, pins each at the lock's version and names every direct requirement."""
    environment = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    dependencies = environment["dependencies"]
    assert "python=3.11" in dependencies
    pip_section = next(d["pip"] for d in dependencies if isinstance(d, dict))
    locked = locked_here()
    named = {}
    for entry in [d for d in dependencies if isinstance(d, str) and d != "python=3.11"] + pip_section:
        if entry.startswith("-"):
            assert entry == "-r requirements.txt", f"environment.yml: {entry!r} (the lock needs --no-deps -e . apart)"
            continue
        name, _, pinned = re.split(r"(==|=)", entry, maxsplit=1) if "=" in entry else (entry, "", "")
        named[canonicalize_name(name)] = pinned
    assert {name: pinned for name, pinned in named.items() if pinned} == \
        {name: locked.get(name) for name, pinned in named.items() if pinned}
    if "-r requirements.txt" not in pip_section:
        assert set(direct_pins()) <= set(named), "environment.yml misses direct requirements"


def test_pyproject_ranges_hold_the_locked_versions():
    """pyproject's dependencies (what the library imports, as ranges) are in the lock, within their ranges."""
    import tomllib

    declared = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["dependencies"]
    locked = locked_here()
    outside = {}
    for requirement in map(Requirement, declared):
        name = canonicalize_name(requirement.name)
        if name not in locked or not requirement.specifier.contains(locked[name]):
            outside[str(requirement)] = locked.get(name, "not locked")
    assert outside == {}


def _imported_top_level_names(folder: Path) -> set[str]:
    import ast

    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names.update(alias.name.split(".")[0] for alias in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                names.add(node.module.split(".")[0])
    return names


#: pytest plugins that the tests use through an option of pyproject's addopts rather than an import
PLUGIN_OPTIONS = {"nbval": "--nbval", "pytest-xdist": "--numprocesses"}


def test_every_pinned_analysis_and_test_package_is_used():
    """No unused direct requirement: each package of requirements.in's "The analysis" is imported by the library
    and declared in pyproject, each test package is imported by the tests (or, for a pytest plugin, enabled in
    pyproject's options)."""
    import tomllib

    sections: dict[str, list[str]] = {}
    current = None
    for line in DIRECT.read_text(encoding="utf-8").splitlines():
        if line.startswith("# The "):
            current = line[len("# The "):].strip()
        elif "==" in line and current:
            sections.setdefault(current, []).append(line.split("==")[0].strip().lower())
    library = _imported_top_level_names(ROOT / "ketapain_lib") | _imported_top_level_names(ROOT / "benchmarks")
    tests = _imported_top_level_names(ROOT / "tests") | _imported_top_level_names(ROOT / "scripts")
    options = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    declared = {canonicalize_name(Requirement(d).name) for d in tomllib.loads(options)["project"]["dependencies"]}
    for package in sections["analysis"]:
        assert package.replace("-", "_") in library, f"{package} is pinned but the library never imports it"
        assert canonicalize_name(package) in declared, f"the library imports {package}; pyproject does not declare it"
    for package in sections["tests"]:
        assert package.replace("-", "_") in tests or PLUGIN_OPTIONS.get(package, f"--{package}") in options, \
            f"{package} is pinned but unused"


@pytest.mark.slow
def test_environment_table_lists_the_direct_requirements_at_their_locked_versions():
    from ketapain_lib.report.tables import environment_table

    table = environment_table()
    rows = {canonicalize_name(p): v for p, v in zip(table["package"], table["pinned"]) if p != "python"}
    assert rows == direct_pins()
    locked = locked_here()
    assert {name: locked[name] for name in rows} == rows
