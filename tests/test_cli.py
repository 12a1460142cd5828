"""The command line: every command documented, errors that say what to do."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from typer.core import TyperGroup
from typer.main import get_command
from typer.testing import CliRunner

from cli.common import console
from cli.main import app
from factories import caf_file, write_catalog

REPO = Path(__file__).resolve().parents[1]
runner = CliRunner()


@pytest.fixture(autouse=True)
def wide_console() -> None:
    """Tables as on a wide terminal, so that assertions do not depend on wrapping."""
    console.width = 200


def _commands() -> list[str]:
    group = get_command(app)
    names = []
    for name, command in group.commands.items():  # type: ignore[attr-defined]
        sub = getattr(command, "commands", None)
        names += [f"{name} {s}" for s in sub] if sub else [name]
    return names


def _readme_command_lines() -> list[str]:
    """Every `veille ...` command line the README shows, in code blocks and code spans
    (tables included), each cut at a comment or a shell operator."""
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    fence = re.compile(r"^```[^\n]*\n(.*?)^```", flags=re.S | re.M)
    snippets = [line for block in fence.findall(readme) for line in block.splitlines()]
    snippets += re.findall(r"`([^`\n]+)`", fence.sub("", readme))
    return [match.group(1).replace("\\|", "|").strip() for snippet in snippets
            for match in re.finditer(r"(?:^|[\s/])veille ([^#;&]+)", snippet)]


def _check_command_line(line: str) -> list[str]:
    """What one README command line names that the app lacks: commands, options."""
    tokens = shlex.split(line)
    if not tokens or tokens[0] == "...":
        return []
    command = get_command(app)
    # a group run without a subcommand (`veille deliveries [--status ...]`) takes options
    while isinstance(command, TyperGroup) and tokens and not tokens[0].startswith(("-", "[")):
        names = tokens.pop(0).split("|")
        unknown = [n for n in names if n not in command.commands]
        if unknown:
            return [f"`veille {line}`: no command {', '.join(unknown)}"]
        command = command.commands[names[0]]
    known = {"--help"} | {opt for param in command.params
                          for opt in [*param.opts, *param.secondary_opts]}
    return [f"`veille {line}`: '{command.name}' has no option {option}"
            for token in tokens for option in token.strip("[](),.").split("=")[0].split("/")
            if option.startswith("-") and option not in known]


def test_every_command_and_option_the_readme_shows_exists() -> None:
    lines = _readme_command_lines()
    assert len(lines) > 30  # the README's commands were found
    assert [problem for line in lines for problem in _check_command_line(line)] == []


def test_every_command_has_help_and_is_shown_in_the_readme() -> None:
    shown = {" ".join(shlex.split(line)[:depth]) for line in _readme_command_lines()
             for depth in (1, 2)}
    for name in _commands():
        result = runner.invoke(app, [*name.split(), "--help"])
        assert result.exit_code == 0, name
        assert "Usage" in result.output
        assert name in shown, f"'veille {name}' is not shown in the README"


def test_ingest_then_list(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    ws = write_catalog(tmp_path / "ws")
    path = caf_file(tmp_path, "2024-03")
    result = runner.invoke(app, ["ingest", str(path), "-w", str(ws)])
    assert result.exit_code == 0, result.output
    assert "accepted" in result.output
    again = runner.invoke(app, ["ingest", str(path), "-w", str(ws)])
    assert "duplicate" in again.output and again.exit_code == 0
    listed = runner.invoke(app, ["deliveries", "-w", str(ws)])
    assert "caf_2024-03.csv" in listed.output and "accepted" in listed.output


def test_unknown_convention_is_refused_with_the_known_ones(tmp_path: Path,
                                                           monkeypatch: pytest.MonkeyPatch,
                                                           ) -> None:
    monkeypatch.setenv("VEILLE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    ws = write_catalog(tmp_path / "ws")
    path = caf_file(tmp_path, "2024-03")
    result = runner.invoke(app, ["ingest", str(path), "-c", "cpam", "-w", str(ws)])
    assert result.exit_code == 2
    assert "Unknown convention 'cpam'" in result.output and "caf-mensuel" in result.output


def test_quarantine_exits_non_zero_and_names_the_report(tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VEILLE_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    ws = write_catalog(tmp_path / "ws")
    path = caf_file(tmp_path, "2024-03", {"Q-UN-NORD": ("400", "x", "1,0")})
    result = runner.invoke(app, ["ingest", str(path), "-w", str(ws)])
    assert result.exit_code == 1
    assert "Quarantined" in result.output and ".rapport.txt" in result.output


def test_broken_catalog_is_reported_with_what_to_fix(tmp_path: Path) -> None:
    ws = write_catalog(tmp_path / "ws")
    (ws / "catalog" / "territories.csv").write_text(
        "code;kind;name;parent;population\n99001;commune;X;999;10\n", encoding="utf-8")
    result = runner.invoke(app, ["check", "-w", str(ws)])
    assert result.exit_code == 2
    assert "territories.csv, entry '99001', field 'parent'" in " ".join(result.output.split())
    assert "Corrigez les fichiers nommés ci-dessus" in result.output


@pytest.mark.parametrize("command", [["digests", "send"], ["bus", "tick"]])
def test_a_bad_at_date_is_a_usage_error(tmp_path: Path, command: list[str]) -> None:
    ws = write_catalog(tmp_path / "ws")
    options = ["-w", str(ws)] if command[0] == "digests" else []
    result = runner.invoke(app, [*command, "--at", "demain", *options])
    assert result.exit_code == 2 and isinstance(result.exception, SystemExit)
    assert "« demain » n'est pas une date ISO" in " ".join(result.output.split())
