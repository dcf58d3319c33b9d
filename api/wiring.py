"""Builds the process's services once, from the app's config, and hands them to views."""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app

from api.services import Services
from tracker.config import Settings, _flag


def settings_from_config(config: Any) -> Settings:
    inline = config.get("INLINE_PROJECTION")
    return Settings(
        database_url=config.get("DATABASE_URL") or Settings.database_url,
        redis_url=config.get("REDIS_URL") or None,
        views_url=config.get("VIEWS_URL") or (
            f"sqlite:///{config['VIEWS_PATH']}" if config.get("VIEWS_PATH") else None),
        redis_prefix=config.get("REDIS_PREFIX") or "tracker",
        inline=inline if isinstance(inline, bool) or inline is None else _flag(str(inline)),
    )


def init_services(app: Flask) -> Services:
    services = Services.from_settings(settings_from_config(app.config), connect=False)
    app.extensions["tracker"] = services
    return services


def get_services() -> Services:
    return current_app.extensions["tracker"]  # type: ignore[no-any-return]
