"""Workspace settings: one folder holds the catalog, the drop folder, the archive, the
quarantine, the outbox and (by default) the SQLite database.

``<workspace>/veille.yaml`` may set any field of :class:`Settings`; the environment
variable ``VEILLE_DATABASE_URL`` overrides the database URL (PostgreSQL in production).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError


class ReadLimits(BaseModel):
    """What one delivery file may hold before it is refused unread: a hostile or broken file
    meets a named limit in seconds instead of exhausting memory or time. Spreadsheets are
    read in a child process held to ``sheet_memory_mb`` and ``sheet_seconds``."""

    model_config = ConfigDict(extra="forbid")

    max_columns: int = Field(default=2_000, ge=1)
    max_line_chars: int = Field(default=1_000_000, ge=100)
    max_cells: int = Field(default=20_000_000, ge=1)
    sheet_memory_mb: int = Field(default=2_048, ge=64)
    sheet_seconds: int = Field(default=120, ge=1)


class Settings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    database_url: str | None = None
    fdr_q: float = Field(default=0.05, gt=0, lt=1)
    timezone: str = "Europe/Paris"
    base_url: str = "http://127.0.0.1:8000"
    notify: Literal["outbox", "apprise"] = Field(
        default="outbox", description="outbox: write messages as files in <workspace>/outbox; "
                                      "apprise: send to the members' Apprise URLs")
    notify_attempts: int = Field(default=5, ge=1, le=20)
    notify_backoff_seconds: int = Field(default=60, ge=1)
    notify_from: str = "veille@observatoire.invalid"
    read_limits: ReadLimits = Field(default_factory=ReadLimits)


class SettingsError(Exception):
    """veille.yaml is not valid; the message names the file and the field."""


@dataclass(frozen=True)
class Workspace:
    root: Path
    settings: Settings

    @classmethod
    def open(cls, root: Path) -> Workspace:
        root = root.resolve()
        path = root / "veille.yaml"
        raw: dict = {}
        if path.exists():
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
            raw = loaded if isinstance(loaded, dict) else {}
        try:
            settings = Settings.model_validate(raw)
        except ValidationError as exc:
            details = "; ".join(f"field '{'.'.join(map(str, e['loc']))}': {e['msg']}"
                                for e in exc.errors())
            raise SettingsError(f"{path}: {details}") from exc
        return cls(root=root, settings=settings)

    @property
    def database_url(self) -> str:
        env = os.environ.get("VEILLE_DATABASE_URL")
        if env:
            return env
        if self.settings.database_url:
            return self.settings.database_url
        return f"sqlite:///{self.root / 'veille.db'}"

    @property
    def catalog_dir(self) -> Path:
        return self.root / "catalog"

    @property
    def inbox(self) -> Path:
        return self.root / "inbox"

    @property
    def archive(self) -> Path:
        return self.root / "archive"

    @property
    def quarantine(self) -> Path:
        return self.root / "quarantine"

    @property
    def outbox(self) -> Path:
        return self.root / "outbox"

    @property
    def history(self) -> Path:
        """Columnar copies of the series, kept in step with the store for bulk reads."""
        return self.root / "history"

    def ensure(self) -> None:
        for folder in (self.catalog_dir, self.inbox, self.archive, self.quarantine,
                       self.outbox, self.history):
            folder.mkdir(parents=True, exist_ok=True)
