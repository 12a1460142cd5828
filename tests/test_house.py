"""The house's size rule: a module past 500 lines holds more than one job (issue 12).

The import rules (core <- stages <- runners and site <- CLI) are import-linter contracts in
pyproject.toml, run by ``lint-imports`` in .ci/run.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LIMIT = 500
SKIPPED = {"tests", "migrations", ".venv", ".git", "build", "node_modules"}


def _modules() -> list[Path]:
    return [p for p in ROOT.rglob("*.py")
            if not SKIPPED.intersection(p.relative_to(ROOT).parts)]


def test_no_module_over_500_lines() -> None:
    modules = _modules()
    assert len(modules) > 50, "the walk must see the project's packages"
    long = {str(p.relative_to(ROOT)): n for p in modules
            if (n := len(p.read_text(encoding="utf-8").splitlines())) > LIMIT}
    assert not long, f"modules over {LIMIT} lines, split them by job: {long}"


def test_the_walk_skips_tests_and_migrations_only() -> None:
    seen = {p.relative_to(ROOT).parts[0] for p in _modules()}
    assert {"veille", "connectors", "detectors", "cli", "review", "benchmarks"} <= seen
    assert not any("migrations" in p.parts for p in _modules())
