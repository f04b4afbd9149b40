"""Alembic, driven from code: `switchboard db upgrade` and hub start-up use this."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from bot.storage.db import sync_url

_HERE = Path(__file__).parent


def alembic_config(database_url: str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_HERE / "migrations"))
    url = sync_url(database_url).render_as_string(hide_password=False)
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(database_url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(database_url), revision)
