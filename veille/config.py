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
    drop_quiet_seconds: float = Field(
        default=15.0, ge=0, description="veille watch: a file is taken once its size and "
                                        "modification time have not changed for this long")


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
