"""Which columns a convention needs from a table, and the problems when some are absent."""

from __future__ import annotations

from connectors.read import Table
from connectors.validate import Problem, missing_column
from veille.model import Convention


def named_columns(conv: Convention) -> list[tuple[str, str, bool]]:
    """Every column the convention names: (name, role, structural). Structural columns
    (territory, period, filters, status, long-layout columns) must all be there; a wide
    file needs at least one of its indicator columns."""
    needed: list[tuple[str, str, bool]] = []
    needed += [(c, "territory code", True) for c in conv.territory.source_columns]
    if conv.period.column:
        needed.append((conv.period.column, "period", True))
    needed += [(c, "filter", True) for c in conv.filters]
    if conv.status:
        needed.append((conv.status.column, "status", True))
    if conv.layout == "wide":
        for col, cm in conv.columns.items():
            needed.append((col, f"indicator {cm.indicator}", False))
            needed += [(c, f"{role} of {cm.indicator}", False)
                       for role, c in (("numerator", cm.numerator),
                                       ("denominator", cm.denominator)) if c]
    else:
        needed += [(c, "indicator label", True)
                   for c in (conv.indicator_columns or (conv.indicator_column,))
                   if c is not None]
        needed += [(c, "value", True) for c in conv.value_columns]
        needed += [(c, role, True) for role, c in (
                   ("numerator", conv.numerator_column),
                   ("denominator", conv.denominator_column)) if c]
    return needed


def column_problems(table: Table, conv: Convention) -> tuple[list[Problem], bool]:
    """Every absent column at once, and whether mapping can go on."""
    found = table.columns
    present = set(found)
    seen: set[str] = set()
    problems: list[Problem] = []
    structural_missing = False
    wide_present = 0
    for col, role, structural in named_columns(conv):
        if col in present:
            if not structural and role.startswith("indicator"):
                wide_present += 1
            continue
        if col in seen:
            continue
        seen.add(col)
        structural_missing |= structural
        sep = conv.file.separator if table.sheet is None else None
        problems.append(missing_column(table.file, table.sheet, table.header_line, col, role,
                                       found, sep))
    return problems, not structural_missing and (conv.layout == "long" or wide_present > 0)
