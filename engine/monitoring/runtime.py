"""What a long-running server process starts besides serving: the in-process scheduler."""

from __future__ import annotations

from sqlalchemy import Engine

from engine.monitoring.scheduler import InProcessScheduler
from engine.monitoring.scheduler import start_in_process
from engine.settings import Settings


def start_background_jobs(settings: Settings, engine: Engine) -> InProcessScheduler:
    """Run the scheduler election in a daemon thread: it leads, or stands by for the leader."""
    return start_in_process(settings, engine)
