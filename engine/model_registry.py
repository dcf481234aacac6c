"""Every ORM module in one place, so migrations and tests see the whole schema."""

from __future__ import annotations

import importlib

from sqlalchemy import MetaData

from engine.db import Base

MODEL_MODULES = (
    "engine.models",
    "engine.deadlines.calendar",
    "engine.planning.models",
    "engine.monitoring.flags",
    "engine.monitoring.lease",
    "engine.monitoring.job_runs",
)


def metadata() -> MetaData:
    """The metadata of all tables, after importing every module that defines some."""
    for name in MODEL_MODULES:
        importlib.import_module(name)
    return Base.metadata
