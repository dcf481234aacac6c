"""Demo data for `xietong demo`: organizations, users, calendar, registries, processes, cases."""

from __future__ import annotations

import logging
from datetime import UTC
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine.db import make_engine
from engine.db import make_session_factory
from engine.deadlines.shipped import sync_shipped_overrides
from engine.demo import cases as demo_cases
from engine.demo.accounts import seed_demo_accounts
from engine.demo.planning import seed_demo_registry
from engine.execution import processes
from engine.models import ProcessInstance
from engine.monitoring import flags
from engine.monitoring import jobs
from engine.settings import Settings

logger = logging.getLogger(__name__)


def prepare(settings: Settings) -> list[tuple[str, str, str]]:
    """Seed everything the demo needs (idempotent); returns the demo logins."""
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    with factory.begin() as session:
        logins = seed_demo_accounts(session)
        sync_shipped_overrides(session)
        seed_demo_registry(session)
        processes.deploy_folders(session, [settings.workflows_dir], actor="demo")
    with factory.begin() as session:
        has_cases = session.scalar(select(ProcessInstance.id).limit(1)) is not None
    if not has_cases:
        with factory.begin() as session:
            demo_cases.seed(session, settings)
    run_jobs_once(factory, settings)
    engine.dispose()
    return logins


def run_jobs_once(factory: sessionmaker[Session], settings: Settings) -> None:
    """Fire due timers and raise flags now, so the demo opens with its lights already on."""
    now = datetime.now(UTC)
    jobs.fire_due_timers(factory, now=now, settings=settings)
    for job, _interval in flags.scheduler_jobs(settings).values():
        job(factory, now, settings)
