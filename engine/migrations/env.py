"""Alembic environment: the URL comes from XIETONG_DATABASE_URL via engine.settings."""

from __future__ import annotations

from alembic import context

from engine.db import make_engine
from engine.model_registry import metadata
from engine.settings import load_settings

config = context.config


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    settings = load_settings()
    if url:
        settings = settings.with_overrides(database_url=url)
    engine = make_engine(settings)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=metadata(),
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
