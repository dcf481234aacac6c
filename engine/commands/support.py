"""What CLI command modules share: settings, a database engine, a session per command."""

from __future__ import annotations

import functools
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from engine.db import make_engine
from engine.db import make_session_factory
from engine.settings import Settings
from engine.settings import load_settings


@functools.cache
def cli_settings() -> Settings:
    return load_settings()


@functools.cache
def cli_engine() -> Engine:
    return make_engine(cli_settings())


@contextmanager
def session_scope() -> Iterator[Session]:
    """One transaction for one command: committed on success, rolled back on error."""
    factory = make_session_factory(cli_engine())
    with factory.begin() as session:
        yield session
