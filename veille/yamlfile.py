"""Reading the files people edit by hand (``veille.yaml``, the catalog): UTF-8 and YAML
checked strictly, every error naming the file, the line and the column.

PyYAML's SafeLoader lets a repeated key silently win, so that the first value is lost
without a word; here a repeated key is refused, naming both lines.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from veille.errors import VeilleError

_MERGE = "tag:yaml.org,2002:merge"


class FileContentError(VeilleError):
    """A hand-edited file that cannot be read: not UTF-8, not YAML, a repeated key."""

    hint = ("Corrigez le fichier à l'endroit indiqué (du YAML enregistré en UTF-8), "
            "puis relancez la commande.")

    def __init__(self, file: str, line: int | None, column: int | None, problem: str) -> None:
        self.file = file
        self.detail = (f"ligne {line}, colonne {column} : {problem}" if line is not None
                       else problem)
        super().__init__(f"{file}, {self.detail}")


class _DuplicateKey(yaml.constructor.ConstructorError):
    """A key given twice in one mapping."""


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses a key repeated in one mapping (merge keys ``<<`` aside:
    overriding a merged key is what they are for)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.get(key)
            except TypeError:  # an unhashable key: SafeLoader refuses it with its own message
                continue
            if first is not None:
                raise _DuplicateKey(
                    None, None, f"clé « {key} » en double (déjà ligne {first}) : la seconde "
                                "valeur effacerait la première ; n'en gardez qu'une",
                    key_node.start_mark)
            seen[key] = key_node.start_mark.line + 1
        return super().construct_mapping(node, deep=deep)


def read_utf8(path: Path, name: str | None = None) -> str:
    """The text of ``path``; bytes that are not UTF-8 are named by line and column.
    ``name`` is how the file is shown (default: its path)."""
    data = path.read_bytes()
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        start = data.rfind(b"\n", 0, exc.start) + 1
        line = data.count(b"\n", 0, exc.start) + 1
        column = len(data[start:exc.start].decode("utf-8", errors="replace")) + 1
        raise FileContentError(
            name or str(path), line, column,
            f"octet 0x{data[exc.start]:02x} qui n'est pas de l'UTF-8 (fichier enregistré "
            "dans un autre encodage, Latin-1 ou Windows-1252 ?) : enregistrez-le en "
            "UTF-8") from exc


def load_yaml(path: Path, name: str | None = None) -> Any:
    """The YAML document of ``path`` (safe types only), or FileContentError naming the
    file, line and column of the first problem."""
    shown = name or str(path)
    text = read_utf8(path, shown)
    try:
        return yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or ""
        if not isinstance(exc, _DuplicateKey):
            context = exc.context or ""
            if context and exc.context_mark is not None and exc.context_mark is not mark:
                context += (f" (ligne {exc.context_mark.line + 1}, "
                            f"colonne {exc.context_mark.column + 1})")
            problem = "YAML invalide : " + ", ".join(filter(None, [context, exc.problem]))
        raise FileContentError(shown, mark.line + 1 if mark else None,
                               mark.column + 1 if mark else None, problem) from exc
    except yaml.YAMLError as exc:
        raise FileContentError(shown, None, None, f"YAML invalide : {exc}") from exc
