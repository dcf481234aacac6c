"""`xietong bench --scale N`: pages and scheduler jobs at N instances (PostgreSQL).

The command lives in engine.commands.core; web.bench_pages hands this module in.

Seeds with engine.demo.scale_seed, then times every scheduler job (a catch-up run, then
steady-state runs 20 minutes apart, each facing only what fell due meanwhile) and, through the
`page_timer` the web layer hands in, the pages people open most, server-side.
"""

from __future__ import annotations

import os
import statistics
import time
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from datetime import timedelta

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session
from sqlalchemy.orm import sessionmaker

from engine import migrate
from engine.db import make_engine
from engine.db import make_session_factory
from engine.demo import seed as demo
from engine.demo.scale_seed import bulk_copy
from engine.models import HumanTask
from engine.models import Organization
from engine.models import OrgType
from engine.models import ProcessInstance
from engine.models import Role
from engine.models import TaskStatus
from engine.models import User
from engine.monitoring import flags
from engine.monitoring import jobs
from engine.people.accounts import issue_api_token
from engine.settings import Settings

STEADY_ROUNDS = 3
STEADY_STEP = timedelta(minutes=20)


@dataclass(frozen=True)
class PageProbe:
    """One page to time: as whom, which path (a bearer token for API paths)."""

    name: str
    user_id: int
    path: str
    bearer: str | None = None
    follow_next: bool = False  # time the page the first one's 下一页 link leads to


@dataclass(frozen=True)
class Timing:
    name: str
    samples: list[float]
    size: int = 0

    @property
    def p50(self) -> float:
        return statistics.median(self.samples) * 1000

    @property
    def p95(self) -> float:
        ordered = sorted(self.samples)
        return ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))] * 1000


PageTimer = Callable[[Settings, Sequence[PageProbe], int], list[Timing]]


def _pool_sizes(session: Session) -> list[tuple[str, str, int, int]]:
    """(org, role, open unclaimed tasks, a user id) per pool that has an active user."""
    user = (
        select(func.min(User.id))
        .where(User.org_code == HumanTask.org_code, User.role == HumanTask.role, User.active)
        .scalar_subquery()
    )
    rows = session.execute(
        select(HumanTask.org_code, HumanTask.role, func.count(), user)
        .where(HumanTask.status == TaskStatus.OPEN, HumanTask.assignee_id.is_(None))
        .group_by(HumanTask.org_code, HumanTask.role)
        .order_by(func.count().desc())
    )
    return [(org, role, count, uid) for org, role, count, uid in rows if uid is not None]


def _first_user(session: Session, *conditions: object) -> int:
    query = select(User.id).where(User.active, *conditions).order_by(User.id)  # type: ignore[arg-type]
    found = session.scalar(query)
    if found is None:
        raise RuntimeError("the demo accounts lack a user the benchmark needs")
    return int(found)


def probes(session: Session) -> list[PageProbe]:
    """The pages to time, as the users who see the most (and a typical officer)."""
    pools = _pool_sizes(session)
    busiest, typical = pools[0], pools[len(pools) // 2]
    heads = set(session.scalars(select(User.org_code).where(User.role == Role.HEAD, User.active)))
    team_org = next(p[0] for p in pools if p[1] == Role.OFFICER and p[0] in heads)
    head = _first_user(session, User.org_code == team_org, User.role == Role.HEAD)
    coordinator = _first_user(
        session,
        User.role == Role.COORDINATOR,
        User.org_code.in_(
            select(Organization.code).where(Organization.type == OrgType.JUSTICE_BUREAU)
        ),
    )
    doer = session.scalar(
        select(HumanTask.completed_by_id)
        .where(HumanTask.completed_by_id.is_not(None))
        .group_by(HumanTask.completed_by_id)
        .order_by(func.count().desc())
        .limit(1)
    )
    base = session.execute(
        select(ProcessInstance.id, ProcessInstance.started_by_id)
        .where(ProcessInstance.started_by_id.is_not(None))
        .order_by(ProcessInstance.id)
        .limit(1)
    ).one()
    user = session.get(User, busiest[3])
    assert user is not None  # noqa: S101 - found above
    token = issue_api_token(session, user, "scale bench")
    label = f"{busiest[0]}/{busiest[1]}, {busiest[2]} open"
    return [
        PageProbe(f"inbox, busiest pool ({label})", busiest[3], "/tasks/"),
        PageProbe("inbox, busiest pool, ?due=overdue", busiest[3], "/tasks/?due=overdue"),
        PageProbe("inbox, busiest pool, ?status=yellow", busiest[3], "/tasks/?status=yellow"),
        PageProbe("inbox, busiest pool, page 2", busiest[3], "/tasks/", follow_next=True),
        PageProbe(
            f"inbox, typical pool ({typical[0]}/{typical[1]}, {typical[2]} open)",
            typical[3],
            "/tasks/",
        ),
        PageProbe(f"inbox of the head of {team_org} (team list)", head, "/tasks/"),
        PageProbe("done list of the most active user", doer or busiest[3], "/tasks/done"),
        PageProbe("supervision (justice bureau coordinator)", coordinator, "/supervision/"),
        PageProbe("supervision, ?overdue=1", coordinator, "/supervision/?overdue=1"),
        PageProbe("notifications, busiest pool", busiest[3], "/notifications/"),
        PageProbe(
            f"instance page (#{base.id}, as its initiator)",
            base.started_by_id,
            f"/instances/{base.id}",
        ),
        PageProbe("GET /api/v1/tasks, busiest pool", busiest[3], "/api/v1/tasks", token),
        PageProbe("GET /api/v1/instances, busiest pool", busiest[3], "/api/v1/instances", token),
    ]


def _job_table(settings: Settings) -> dict[str, Callable[[sessionmaker[Session], datetime], int]]:
    table: dict[str, Callable[[sessionmaker[Session], datetime], int]] = {
        "fire_due_timers": lambda f, now: jobs.fire_due_timers(f, now=now, settings=settings)
    }
    for name, (job, _seconds) in flags.scheduler_jobs(settings).items():
        table[name] = lambda f, now, job=job: job(f, now, settings)  # type: ignore[misc]
    return table


def time_jobs(
    factory: sessionmaker[Session], settings: Settings, now: datetime
) -> tuple[list[Timing], list[Timing], dict[str, list[int]]]:
    """Catch-up run at `now`, then STEADY_ROUNDS runs STEADY_STEP apart; and what each handled."""
    catch_up, steady, handled = [], [], {}
    for name, job in _job_table(settings).items():
        started = time.perf_counter()
        done = [job(factory, now)]
        catch_up.append(Timing(name, [time.perf_counter() - started]))
        samples = []
        for step in range(1, STEADY_ROUNDS + 1):
            started = time.perf_counter()
            done.append(job(factory, now + step * STEADY_STEP))
            samples.append(time.perf_counter() - started)
        steady.append(Timing(name, samples))
        handled[name] = done
    return catch_up, steady, handled


def _counts(session: Session) -> dict[str, int]:
    tables = ("process_instance", "human_task", "flag", "notification")
    found = {t: int(session.scalar(text(f"SELECT count(*) FROM {t}")) or 0) for t in tables}  # noqa: S608 - fixed names
    found["open tasks"] = int(
        session.scalar(select(func.count()).where(HumanTask.status == TaskStatus.OPEN)) or 0
    )
    return found


def run_scale(
    *, database_url: str | None, scale: int, rounds: int, page_timer: PageTimer | None
) -> str:
    """Seed `scale` instances, time the jobs and pages, and return the printed report."""
    if not database_url or not database_url.startswith("postgresql"):
        return "bench --scale needs --database-url postgresql://... (an empty database)\n"
    settings = Settings(database_url=database_url, run_scheduler_in_process=False)
    settings = settings.with_overrides(secret_key="bench-only-secret-key")  # noqa: S106 - test client only
    migrate.upgrade(settings)
    engine = make_engine(settings)
    factory = make_session_factory(engine)
    started = time.perf_counter()
    demo.prepare(settings)
    base_seconds = time.perf_counter() - started
    now = datetime.now(UTC)
    started = time.perf_counter()
    with factory.begin() as session:
        added = bulk_copy(session, wanted=scale, now=now)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))
    bulk_seconds = time.perf_counter() - started
    catch_up, steady, handled = time_jobs(factory, settings, now)
    with factory.begin() as session:
        counts = _counts(session)
        pages = probes(session)
    timed = page_timer(settings, pages, rounds) if page_timer else []
    engine.dispose()
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"xietong bench --scale {scale} on {database_url} (load average {load} on "
        f"{os.cpu_count()} cores)",
        f"seed: base set through the engine {base_seconds:.1f} s, bulk copy of {added} "
        f"instances {bulk_seconds:.1f} s",
        "rows: " + ", ".join(f"{name} {count}" for name, count in counts.items()),
        "",
        f"{f'page (server-side, {rounds} requests)':<72}{'p50 ms':>9}{'p95 ms':>9}{'KB':>8}",
        *(f"{t.name:<72}{t.p50:>9.1f}{t.p95:>9.1f}{t.size / 1024:>8.1f}" for t in timed),
    ]
    if page_timer is None:
        lines.append("(pages not timed: run through the `xietong` console script)")
    lines += [
        "",
        f"{'scheduler job':<28}{'catch-up ms':>12}{'steady p50':>12}{'steady max':>12}  handled",
    ]
    for first, later in zip(catch_up, steady, strict=True):
        worst = max(later.samples) * 1000
        lines.append(
            f"{first.name:<28}{first.p50:>12.1f}{later.p50:>12.1f}{worst:>12.1f}"
            f"  {handled[first.name]}"
        )
    return "\n".join(lines) + "\n"
