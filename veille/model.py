"""Domain model: the nouns of DOMAIN.md as validated, typed objects.

These are the objects the catalog files describe (glossary, territories, providers,
conventions, cells). They are pydantic models so that a human-edited file is checked field
by field, and the error can name the file, the entry and the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from veille.periods import PeriodError, Periodicity, periodicity_of


class Theme(StrEnum):
    """The six themes of the observatory's notes."""

    PRECARITE = "precarite"
    EMPLOI = "emploi"
    SECURITE = "securite"
    EDUCATION = "education"
    ACCESSIBILITE = "accessibilite"
    SANTE = "sante"

    @property
    def label_fr(self) -> str:
        return THEME_LABELS_FR[self]


THEME_LABELS_FR = {
    Theme.PRECARITE: "Précarité sociale et monétaire",
    Theme.EMPLOI: "Emploi",
    Theme.SECURITE: "Sécurité",
    Theme.EDUCATION: "Éducation",
    Theme.ACCESSIBILITE: "Accessibilité",
    Theme.SANTE: "Santé",
}


class TerritoryKind(StrEnum):
    IRIS = "iris"
    QPV = "qpv"
    QUARTIER = "quartier"
    COMMUNE = "commune"
    EPCI = "epci"
    DEPARTEMENT = "departement"
    REGION = "region"
    ARRONDISSEMENT = "arrondissement"
    """An arrondissement municipal (Paris, Lyon, Marseille): a child of its commune."""

    @property
    def label_fr(self) -> str:
        return {"iris": "IRIS", "qpv": "QPV", "quartier": "quartier", "commune": "commune",
                "epci": "intercommunalité", "departement": "département", "region": "région",
                "arrondissement": "arrondissement"}[self.value]


_CODE_RULES: dict[TerritoryKind, re.Pattern[str]] = {
    TerritoryKind.COMMUNE: re.compile(r"^(\d{5}|2[AB]\d{3})$"),
    TerritoryKind.IRIS: re.compile(r"^(\d{5}|2[AB]\d{3})\d{4}$"),
    TerritoryKind.EPCI: re.compile(r"^\d{9}$"),
    TerritoryKind.DEPARTEMENT: re.compile(r"^(\d{2}|2[AB]|97\d)$"),
    TerritoryKind.QPV: re.compile(r"^Q[NP]\d{3}\w{3,4}$"),
    TerritoryKind.QUARTIER: re.compile(r"^[\w-]{2,40}$"),
    TerritoryKind.REGION: re.compile(r"^R\d{2}$"),  # R84: INSEE's code overlaps départements
    TerritoryKind.ARRONDISSEMENT: re.compile(r"^\d{5}$"),
}


OBSERVATION_STATUSES = ("ok", "secret", "missing", "provisional")
"""An observation's status: secret and missing carry no value (never zero)."""


class Strict(BaseModel):
    """Catalog entries reject unknown fields: a typo in a file must not pass silently."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def error_text(err: Mapping[str, Any]) -> str:
    """Plain words for one pydantic error: a value outside an enumerated field names every
    allowed value (the README's catalog reference lists the same), other errors keep
    pydantic's message."""
    ctx = err.get("ctx") or {}
    if err.get("type") in {"enum", "literal_error"} and "expected" in ctx:
        return f"expected one of {ctx['expected']} (found {err.get('input')!r})"
    if err.get("type") == "union_tag_invalid" and "expected_tags" in ctx:
        return f"expected one of {ctx['expected_tags']} (found {ctx.get('tag')!r})"
    return str(err.get("msg", ""))


class Territory(Strict):
    code: str
    kind: TerritoryKind
    name: str
    parent: str | None = None
    population: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _code_fits_kind(self) -> Territory:
        if not _CODE_RULES[self.kind].match(self.code):
            raise ValueError(f"code '{self.code}' is not a valid {self.kind.value} code")
        return self


class TerritoryLink(Strict):
    """A non-tree membership: a QPV straddling several IRIS, with the share of each."""

    child: str
    parent: str
    share: float = Field(default=1.0, gt=0, le=1)


class IndicatorKind(StrEnum):
    COUNT = "count"
    RATE = "rate"
    AMOUNT = "amount"


PLAUSIBLE_MAXIMUM = {IndicatorKind.COUNT: 1e9, IndicatorKind.RATE: 1e6,
                     IndicatorKind.AMOUNT: 1e12}
"""Default upper bounds, far above any real local figure: a value beyond them is a broken
export (a count of 1e300 would overflow the detectors), refused unless the glossary's
``maximum`` says otherwise. Counts also bound numerators and denominators."""
RATE_UNIT_MAXIMUM = {"%": 100.0, "‰": 1000.0}


class Polarity(StrEnum):
    UP_IS_GOOD = "up_is_good"
    UP_IS_BAD = "up_is_bad"
    NEUTRAL = "neutral"

    @property
    def sign(self) -> int:
        return {"up_is_good": 1, "up_is_bad": -1, "neutral": 0}[self.value]


class SeriesBreak(Strict):
    """A known definition change: values before and after are not comparable."""

    period: str
    note: str

    @field_validator("period")
    @classmethod
    def _period_label(cls, value: str) -> str:
        try:
            periodicity_of(value)
        except PeriodError as exc:
            raise ValueError(str(exc)) from exc
        return value


class Indicator(Strict):
    """One glossary entry: what the observatory measures, defined once for everyone."""

    code: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]{1,63}$")]
    label: str
    label_en: str | None = None
    definition: str
    theme: Theme
    unit: str
    kind: IndicatorKind
    numerator: str | None = None
    denominator: str | None = None
    polarity: Polarity = Polarity.NEUTRAL
    periodicity: Periodicity
    provider: str
    secrecy_threshold: int | None = Field(default=None, ge=0)
    people: str | None = None
    breaks: list[SeriesBreak] = Field(default_factory=list)
    parts: list[str] = Field(default_factory=list, description="indicators that add up to this one")
    minimum: float | None = 0.0
    maximum: float | None = None

    @model_validator(mode="after")
    def _rate_bounds(self) -> Indicator:
        for brk in self.breaks:
            if periodicity_of(brk.period) is not self.periodicity:
                raise ValueError(
                    f"break period '{brk.period}' is not {self.periodicity.value}"
                )
        return self

    @property
    def upper_bound(self) -> float:
        """Largest admissible value: the glossary's ``maximum``, else 100 for a percentage,
        1000 for a per-mille rate, else the plausibility bound of the indicator's kind."""
        if self.maximum is not None:
            return self.maximum
        if self.kind is IndicatorKind.RATE and self.unit.strip() in RATE_UNIT_MAXIMUM:
            return RATE_UNIT_MAXIMUM[self.unit.strip()]
        return PLAUSIBLE_MAXIMUM[self.kind]


class Provider(Strict):
    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{1,63}$")]
    name: str
    contact_name: str | None = None
    contact_url: str | None = None


class FileSpec(Strict):
    """How to read the bytes of a provider file."""

    format: Literal["csv", "xlsx", "xls", "ods", "json", "jsonl"] | None = None
    encoding: str = "utf-8"
    separator: str = ";"
    decimal: str = ","
    thousands: str | None = None
    quotechar: str = '"'
    skip_rows: int = Field(default=0, ge=0)
    header_rows: int = Field(default=1, ge=1)
    header_row: int = Field(default=0, ge=0)
    sheet: str | int | None = None
    secret_markers: list[str] = Field(
        default_factory=lambda: ["", "s", "nd", "n.d.", "secret", "ndiff", "<5", "<11", "c"]
    )
    secret_numbers: list[float] = Field(
        default_factory=list, description="numeric codes a provider writes for an unpublished "
                                          "cell, e.g. [0] or [-1]")
    records: str | None = Field(
        default=None, description="JSON: dotted path to the records (a list of objects or an "
                                  "object of objects keyed by code); None: the document itself")

    @model_validator(mode="after")
    def _header_row_inside(self) -> FileSpec:
        if self.header_row >= self.header_rows:
            raise ValueError("header_row must be one of the header_rows (0-based)")
        return self


class TerritoryMapping(Strict):
    """Which column(s) hold the territory code, and how to normalise it."""

    column: str | None = None
    columns: list[str] | None = None
    zfill: int | None = None
    prefix: str = ""
    codes: dict[str, str] = Field(default_factory=dict)
    match: Literal["code", "name"] = "code"

    @model_validator(mode="after")
    def _one_source(self) -> TerritoryMapping:
        if (self.column is None) == (self.columns is None):
            raise ValueError("give exactly one of 'column' or 'columns'")
        return self

    @property
    def source_columns(self) -> list[str]:
        return [self.column] if self.column is not None else list(self.columns or [])


def compile_regex(value: str) -> re.Pattern[str]:
    """A convention's regular expression, or a ValueError (hence a catalog problem naming
    the file and the field) that says where it is broken."""
    try:
        return re.compile(value)
    except re.error as exc:
        raise ValueError(f"expression régulière invalide « {value} » : {exc}") from exc


class PeriodMapping(Strict):
    """Where the period comes from: a column, the file name, or a fixed value."""

    column: str | None = None
    from_filename: bool = False
    value: str | None = None
    pattern: str = r"(?P<year>\d{4})(?:-(?:Q|T)(?P<quarter>[1-4])|-(?P<month>\d{2}))?"

    @field_validator("pattern")
    @classmethod
    def _pattern_has_year(cls, value: str) -> str:
        if "year" not in compile_regex(value).groupindex:
            raise ValueError("the period pattern needs a named group 'year'")
        return value

    @model_validator(mode="after")
    def _one_source(self) -> PeriodMapping:
        sources = [self.column is not None, self.from_filename, self.value is not None]
        if sum(sources) != 1:
            raise ValueError("give exactly one of 'column', 'from_filename' or 'value'")
        return self


class ColumnMapping(Strict):
    """A wide-layout column (or pair of columns) that carries one indicator."""

    indicator: str
    numerator: str | None = None
    denominator: str | None = None
    scale: float = 1.0


class StatusMapping(Strict):
    """A column that flags secret or provisional values, e.g. SSMSI's est_diffuse."""

    column: str
    secret: list[str] = Field(default_factory=list)
    provisional: list[str] = Field(default_factory=list)


class Convention(Strict):
    """A data-sharing convention with a provider: what it sends, how often, in what layout."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{1,63}$")]
    provider: str
    label: str
    periodicity: Periodicity
    lag_days: int = Field(ge=0, description="expected delay between period end and delivery")
    geography: TerritoryKind
    secrecy_threshold: int = Field(default=5, ge=0)
    secrecy_zero: bool = False
    protection_level: int | None = Field(default=None, ge=0)
    first_period: str | None = None
    filename_pattern: str | None = None
    file: FileSpec = Field(default_factory=FileSpec)
    layout: Literal["wide", "long"]
    territory: TerritoryMapping
    former_codes: Literal["map", "refuse"] = Field(
        default="map", description="a merged commune's old code (catalog/former_codes.csv): "
        "read as today's commune and counted in the report, or refused")
    period: PeriodMapping
    filters: dict[str, str | list[str]] = Field(default_factory=dict)
    status: StatusMapping | None = None
    columns: dict[str, ColumnMapping] = Field(default_factory=dict)
    indicator_column: str | None = None
    indicator_columns: list[str] | None = None
    indicator_map: dict[str, str | dict[str, str]] = Field(
        default_factory=dict, description="label -> indicator, or label -> {value column -> "
                                          "indicator} when a row carries several values")
    ignore_indicators: list[str] = Field(default_factory=list)
    value_column: str | None = None
    fractional_counts: Literal["refuse", "keep", "round"] = "refuse"
    numerator_column: str | None = None
    denominator_column: str | None = None

    @field_validator("filename_pattern")
    @classmethod
    def _filename_pattern_compiles(cls, value: str | None) -> str | None:
        if value is not None:
            compile_regex(value)
        return value

    @model_validator(mode="after")
    def _layout_complete(self) -> Convention:
        if self.layout == "wide" and not self.columns:
            raise ValueError("a wide layout needs 'columns' (file column -> indicator)")
        if self.layout == "long":
            if self.value_column is None and not all(
                    isinstance(v, dict) for v in self.indicator_map.values()):
                raise ValueError("a long layout needs 'value_column' (or an indicator_map "
                                 "whose every entry names its value columns)")
            if (self.indicator_column is None) == (self.indicator_columns is None):
                raise ValueError("a long layout needs one of 'indicator_column' or "
                                 "'indicator_columns'")
        if self.first_period is not None and periodicity_of(self.first_period) is not (
            self.periodicity
        ):
            raise ValueError(f"first_period '{self.first_period}' is not "
                             f"{self.periodicity.value}")
        return self

    @property
    def indicator_codes(self) -> list[str]:
        """Indicators this convention may deliver, in file order."""
        if self.layout == "wide":
            return [c.indicator for c in self.columns.values()]
        return list(dict.fromkeys(code for v in self.indicator_map.values()
                                  for code in ([v] if isinstance(v, str) else v.values())))

    @property
    def value_columns(self) -> list[str]:
        """Long layout: every column that holds values, in the order they are named."""
        named = [c for v in self.indicator_map.values() if isinstance(v, dict) for c in v]
        return list(dict.fromkeys(([self.value_column] if self.value_column else []) + named))


class CellKind(StrEnum):
    CLSPD = "clspd"
    CCAS = "ccas"
    OBSERVATORY = "observatory"
    PROVIDER = "provider"


class Member(Strict):
    """One recipient of a cell; ``url`` is an Apprise URL and may hold credentials."""

    name: str
    url: str


class Severity(StrEnum):
    """How urgent an alert is; at or above a cell's ``immediate_severity`` it is not held
    for the digest."""

    INFO = "info"
    WARNING = "warning"
    CRITICAL = "critical"

    @property
    def rank(self) -> int:
        return {"info": 0, "warning": 1, "critical": 2}[self.value]

    @property
    def label_fr(self) -> str:
        return {"info": "information", "warning": "vigilance", "critical": "alerte"}[self.value]


_HHMM = r"^([01]\d|2[0-3]):[0-5]\d$"


class QuietHours(Strict):
    """Local (Europe/Paris) hours during which nothing is sent to a cell, e.g. 20:00-08:00."""

    start: Annotated[str, Field(pattern=_HHMM)]
    end: Annotated[str, Field(pattern=_HHMM)]


class Cell(Strict):
    """A watch cell: who receives which news for which territory, and when."""

    id: Annotated[str, Field(pattern=r"^[a-z][a-z0-9_-]{1,63}$")]
    name: str
    kind: CellKind
    scope: list[str] = Field(default_factory=list, description="territory codes")
    themes: list[Theme] = Field(default_factory=list)
    members: list[Member] = Field(default_factory=list)
    schedule: Literal["immediate", "weekly", "monthly"] = "monthly"
    digest_day: int | None = Field(
        default=None, ge=1, le=28,
        description="weekly: 1 (Monday) to 7; monthly: day of month 1-28. Default 1.")
    digest_hour: int = Field(default=8, ge=0, le=23, description="local hour (Europe/Paris)")
    quiet_hours: QuietHours | None = None
    reviewed_only: bool = True
    immediate_severity: Severity | None = Field(
        default=Severity.CRITICAL,
        description="alerts at or above this severity are sent at once, not in the digest")
    provider: str | None = Field(default=None, description="provider cells: the provider id")

    @model_validator(mode="after")
    def _day_fits_schedule(self) -> Cell:
        if self.schedule == "weekly" and self.digest_day is not None and self.digest_day > 7:
            raise ValueError("a weekly digest_day is 1 (Monday) to 7 (Sunday)")
        if self.kind is CellKind.PROVIDER and self.provider is None:
            raise ValueError("a provider cell names its 'provider'")
        return self
