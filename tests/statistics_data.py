"""A small fixed data set for the statistics tests, with every figure computed by hand.

Period 2031-03-01 .. 2031-04-30 (Beijing time). Instances (A = 市场监管局, B = 公安局,
T = 乌恰镇):

  key    process  org  township  started (UTC)        status     flags
  done   stat_p1  A    T         2031-03-05 02:00     completed  -
  late   stat_p1  A    -         2031-03-20 00:00     running    yellow, red (cleared)
  stall  stat_p2  B    T         2031-04-02 00:00     waiting    stalled
  gone   stat_p1  B    -         2031-04-10 00:00     cancelled  -
  first  stat_p1  A    -         2031-02-28 16:00     error      -   (00:00 on 1 March, inside)
  before stat_p1  A    -         2031-02-28 15:59     completed  yellow  (23:59 on 28 Feb, outside)

Step stat_p1/review (审查): done 24 h on time; late 72 h late; first 48 h completed exactly at
its due moment (on time); gone 12 h without a due moment; before (outside) is ignored.
So 4 completed, 2 on time, 1 late, rate 2/3, median 24 h, p90 72 h (nearest rank).
Step stat_p1/decide (决定): late's open task, due 2031-04-01, overdue at NOW.
"""

from __future__ import annotations

import uuid
from datetime import UTC
from datetime import date
from datetime import datetime
from datetime import timedelta

from sqlalchemy.orm import Session

from engine.models import HumanTask
from engine.models import InstanceStatus
from engine.models import OrgType
from engine.models import ProcessDefinition
from engine.models import ProcessInstance
from engine.models import TaskStatus
from engine.monitoring.models import Flag
from engine.monitoring.models import FlagKind
from tests.factories import make_org

ORG_A, ORG_B, TOWNSHIP = "YJS-SCJG", "YJS-GA", "TWP-WUQIA"
DATE_FROM, DATE_TO = date(2031, 3, 1), date(2031, 4, 30)
NOW = datetime(2031, 5, 1, tzinfo=UTC)
LIMIT_TEXT, LIMIT_BASIS = "3个工作日", "《测试条例》第一条"


def _definition(session: Session, process_id: str, title: str) -> ProcessDefinition:
    definition = ProcessDefinition(
        process_id=process_id,
        version=1,
        spec_hash="0" * 64,
        name=title,
        files={},
        forms={},
        manifest={"title": title},
    )
    session.add(definition)
    session.flush()
    return definition


def _instance(
    session: Session,
    definition: ProcessDefinition,
    *,
    org: str,
    township: str | None,
    started: datetime,
    status: InstanceStatus,
) -> ProcessInstance:
    instance = ProcessInstance(
        definition_id=definition.id,
        spec_hash=definition.spec_hash,
        process_id=definition.process_id,
        title=f"STAT-{started:%m%d%H%M}",
        status=status,
        state_json="{}",
        serializer_version="1",
        started_org=org,
        township_code=township,
        started_at=started,
        updated_at=started,
        last_progress_at=started,
    )
    session.add(instance)
    session.flush()
    return instance


def _task(
    session: Session,
    instance: ProcessInstance,
    bpmn_id: str,
    *,
    created: datetime,
    hours: float | None,
    due: datetime | None,
    deadline: dict[str, str] | None = None,
) -> None:
    completed = created + timedelta(hours=hours) if hours is not None else None
    session.add(
        HumanTask(
            guid=str(uuid.uuid4()),
            instance_id=instance.id,
            process_id=instance.process_id,
            bpmn_id=bpmn_id,
            name={"review": "审查", "decide": "决定"}[bpmn_id],
            status=TaskStatus.COMPLETED if completed else TaskStatus.OPEN,
            created_at=created,
            due_at=due,
            completed_at=completed,
            deadline=deadline,
        )
    )


def _flag(
    session: Session, instance: ProcessInstance, kind: FlagKind, *, cleared: bool = False
) -> None:
    moment = instance.started_at + timedelta(days=1)
    session.add(
        Flag(
            instance_id=instance.id,
            kind=kind,
            reason="测试",
            since=moment,
            raised_at=moment,
            cleared_at=moment + timedelta(hours=1) if cleared else None,
            dedupe_key=f"{kind}:{instance.id}:stat",
        )
    )


def build(session: Session) -> dict[str, int]:
    """The data set above (flushed, not committed); instance ids by key."""
    make_org(session, code=ORG_A, name="县市场监督管理局")
    make_org(session, code=ORG_B, name="县公安局", org_type=OrgType.POLICE)
    make_org(session, code=TOWNSHIP, name="乌恰镇", org_type=OrgType.TOWNSHIP)
    p1 = _definition(session, "stat_p1", "统计流程一")
    p2 = _definition(session, "stat_p2", "统计流程二")
    at = datetime
    rows = {
        "done": (p1, ORG_A, TOWNSHIP, at(2031, 3, 5, 2, tzinfo=UTC), InstanceStatus.COMPLETED),
        "late": (p1, ORG_A, None, at(2031, 3, 20, tzinfo=UTC), InstanceStatus.RUNNING),
        "stall": (p2, ORG_B, TOWNSHIP, at(2031, 4, 2, tzinfo=UTC), InstanceStatus.WAITING),
        "gone": (p1, ORG_B, None, at(2031, 4, 10, tzinfo=UTC), InstanceStatus.CANCELLED),
        "first": (p1, ORG_A, None, at(2031, 2, 28, 16, tzinfo=UTC), InstanceStatus.ERROR),
        "before": (
            p1, ORG_A, None, at(2031, 2, 28, 15, 59, tzinfo=UTC), InstanceStatus.COMPLETED
        ),
    }  # fmt: skip
    found = {
        key: _instance(session, d, org=o, township=t, started=s, status=st)
        for key, (d, o, t, s, st) in rows.items()
    }
    day = timedelta(days=1)
    done, late, first = found["done"], found["late"], found["first"]
    limit = {"unit_text": LIMIT_TEXT, "basis": LIMIT_BASIS}
    _task(
        session,
        done,
        "review",
        created=done.started_at,
        hours=24,
        due=done.started_at + 3 * day,
        deadline=limit,
    )
    _task(session, late, "review", created=late.started_at, hours=72, due=late.started_at + day)
    _task(
        session, first, "review", created=first.started_at, hours=48, due=first.started_at + 2 * day
    )
    _task(session, found["gone"], "review", created=found["gone"].started_at, hours=12, due=None)
    before = found["before"]
    _task(
        session, before, "review", created=before.started_at, hours=500, due=before.started_at + day
    )
    decide_due = datetime(2031, 4, 1, tzinfo=UTC)
    _task(session, late, "decide", created=late.started_at + 3 * day, hours=None, due=decide_due)
    _flag(session, late, FlagKind.YELLOW)
    _flag(session, late, FlagKind.RED, cleared=True)
    _flag(session, found["stall"], FlagKind.STALLED)
    _flag(session, before, FlagKind.YELLOW)
    session.flush()
    return {key: instance.id for key, instance in found.items()}
