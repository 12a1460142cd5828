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

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from veille.errors import VeilleError
from veille.model import error_text
from veille.yamlfile import load_yaml


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
    max_depth: int = Field(default=64, ge=2, description="JSON nesting levels")
    max_records: int = Field(default=5_000_000, ge=1, description="JSON records")


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
    busy_timeout_seconds: float = Field(
        default=30.0, gt=0, description="SQLite: how long a write waits for another "
                                         "process's write before saying the store is locked")
    cookie_secure: bool | None = Field(
        default=None, description="the site's session cookie is sent over HTTPS only "
                                  "(its Secure flag); default: when base_url is https://")

    @property
    def secure_cookie(self) -> bool:
        """Whether the session cookie carries the Secure flag."""
        if self.cookie_secure is not None:
            return self.cookie_secure
        return self.base_url.lower().startswith("https://")
    drop_quiet_seconds: float = Field(
        default=15.0, ge=0, description="veille watch: a file is taken once its size and "
                                        "modification time have not changed for this long")
    read_limits: ReadLimits = Field(default_factory=ReadLimits)


class SettingsError(VeilleError):
    """veille.yaml is not valid; the message names the file and the field."""

    hint = "Corrigez veille.yaml à l'endroit indiqué, puis relancez la commande."


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
            loaded = load_yaml(path)
            if loaded is not None and not isinstance(loaded, dict):
                raise SettingsError(f"{path}: attendu des réglages « nom: valeur », un par "
                                    "ligne")
            raw = loaded or {}
        try:
            settings = Settings.model_validate(raw)
        except ValidationError as exc:
            details = "; ".join(f"field '{'.'.join(map(str, e['loc']))}': {error_text(e)}"
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
