"""What a long-running server process starts besides serving: the in-process scheduler."""

from __future__ import annotations

from sqlalchemy import Engine

from engine.monitoring.scheduler import start_in_process
from engine.settings import Settings


def start_background_jobs(settings: Settings, engine: Engine) -> bool:
    """Run the scheduler inside this process if it can lead; False when another process leads."""
    return start_in_process(settings, engine) is not None
