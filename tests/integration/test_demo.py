"""`xietong demo`'s data: every process in flight, some overdue, and every kind of flag."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func
from sqlalchemy import select

from engine import migrate
from engine.db import make_engine
from engine.db import make_session_factory
from engine.demo import seed as demo
from engine.models import InstanceStatus
from engine.models import ProcessInstance
from engine.monitoring.models import Flag
from engine.settings import Settings

PROCESSES = {
    "joint_inspection",
    "township_empowerment",
    "criminal_transfer",
    "reverse_transfer",
    "discipline_referral",
}


def test_demo_leaves_every_process_in_flight_with_yellow_red_and_stalled_flags(
    tmp_path: Path,
) -> None:
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'demo.db'}")
    migrate.upgrade(settings)
    logins = demo.prepare(settings)
    assert ("admin", "demo1234") in {(u, p) for u, p, _who in logins}
    factory = make_session_factory(make_engine(settings))
    with factory() as session:
        in_flight = dict(
            session.execute(
                select(ProcessInstance.process_id, func.count())
                .where(ProcessInstance.status.in_([InstanceStatus.RUNNING, InstanceStatus.WAITING]))
                .group_by(ProcessInstance.process_id)
            ).all()
        )
        flags = session.scalars(select(Flag).where(Flag.cleared_at.is_(None))).all()
    assert set(in_flight) == PROCESSES
    assert all(count >= 2 for count in in_flight.values()), in_flight
    assert {str(f.kind) for f in flags} == {"yellow", "red", "stalled"}
    assert all(f.reason for f in flags)
    assert demo.prepare(settings) == logins  # a second run changes nothing
