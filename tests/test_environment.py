"""Setup: the README's two commands, .ci/run, and the conda environment agree with the pip pins."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    """The shell commands of the README's first code block, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```(?:bash|sh)\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.strip() and not line.startswith("#")]


def pins(lines: list[str]) -> dict[str, str]:
    found = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            found[name.strip().lower()] = version.strip()
    return found


def test_readme_opens_with_a_build_command_and_a_test_command():
    build, test = readme_commands()[:2]
    assert "pip install -r requirements.txt" in build and "jupyter-book build" in build
    assert "pip install -r requirements.txt" in test and "pytest" in test
    assert "conda" not in build + test


def test_ci_runs_the_readme_test_command_verbatim():
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert readme_commands()[1] in ci


def test_environment_yml_has_the_same_pins_as_requirements_txt():
    requirements = pins((ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines())
    environment = yaml.safe_load((ROOT / "environment.yml").read_text(encoding="utf-8"))
    pip_section = next(d["pip"] for d in environment["dependencies"] if isinstance(d, dict))
    assert pins(pip_section) == requirements
    assert "python=3.11" in environment["dependencies"]
    assert "-e ." in pip_section
    assert len(requirements) >= 15


def test_installed_versions_are_the_pinned_ones():
    from importlib.metadata import version

    requirements = pins((ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines())
    wrong = {name: (pinned, version(name)) for name, pinned in requirements.items() if version(name) != pinned}
    assert wrong == {}


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
    """No unused pins: each package of "The analysis" is imported by the library, each test package by the tests
    (or, for a pytest plugin, enabled in pyproject's options)."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in (ROOT / "requirements.txt").read_text(encoding="utf-8").splitlines():
        if line.startswith("# The "):
            current = line[len("# The "):].strip()
        elif "==" in line and current:
            sections.setdefault(current, []).append(line.split("==")[0].strip().lower())
    library = _imported_top_level_names(ROOT / "ketapain_lib") | _imported_top_level_names(ROOT / "benchmarks")
    tests = _imported_top_level_names(ROOT / "tests") | _imported_top_level_names(ROOT / "scripts")
    options = (ROOT / "pyproject.toml").read_text(encoding="utf-8")
    for package in sections["analysis"]:
        assert package.replace("-", "_") in library, f"{package} is pinned but the library never imports it"
    for package in sections["tests"]:
        assert package.replace("-", "_") in tests or PLUGIN_OPTIONS.get(package, f"--{package}") in options, \
            f"{package} is pinned but unused"
