"""Seeding for `xietong bench --scale N` (PostgreSQL only).

A base set of cases goes through the engine (the demo seed: the five processes at several
steps, their flags raised by the real jobs). The bulk shortcut then copies those instances
with INSERT ... SELECT over generate_series until there are N, each copy with:
- its organizations moved to another staffed organization of the same type (started_org,
  township, parties, task routing; an assignee is dropped when the task changed organization);
- started and completed moments moved k % 365 days back, last progress 0-79 hours ago;
- open tasks due between 6 days ago and 40 days ahead (the warning window kept), closed ones
  moved back with their instance;
- the flags the jobs would have raised by now inserted directly (red past due, yellow in the
  warning window, stalled when idle over 72 h), so that the jobs measured afterwards face a
  steady state: only what fell due since.
Copies share their base's SpiffWorkflow state and have no audit trail; instance pages are
measured on base instances. Nothing here is used outside the benchmark.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy.orm import Session

from engine.models import ProcessInstance

ORG_RANK = """
CREATE TEMP TABLE scale_org ON COMMIT DROP AS
SELECT code, type, (row_number() OVER (PARTITION BY type ORDER BY code) - 1)::int AS rn,
       (count(*) OVER (PARTITION BY type))::int AS cnt
FROM organization o
WHERE active AND EXISTS (SELECT 1 FROM user_account u WHERE u.org_code = o.code AND u.active)
"""
# Bases with more tasks than average are copied twice as often (realistic task counts).
COPY_MAP = """
CREATE TEMP TABLE scale_copy ON COMMIT DROP AS
WITH base AS (
  SELECT b.id, 1 + (count(h.id) > avg(count(h.id)) OVER ())::int AS weight
  FROM process_instance b LEFT JOIN human_task h ON h.instance_id = b.id
  GROUP BY b.id
)
SELECT b.id AS base_id, g.k, nextval(pg_get_serial_sequence('process_instance', 'id')) AS new_id,
       (g.k % 365) * interval '1 day' AS shift,
       ((g.k * 7 + b.id) % 80) * interval '1 hour' AS idle
FROM base b CROSS JOIN generate_series(1, :copies * b.weight) AS g(k)
ORDER BY g.k::float / b.weight, b.id
LIMIT :wanted
"""
# The organization of the same type k places further on, or the code itself when unknown.
MOVED = (
    "coalesce((SELECT o2.code FROM scale_org o JOIN scale_org o2 ON o2.type = o.type"
    " AND o2.rn = (o.rn + c.k) % o.cnt WHERE o.code = {column}), {column})"
)
INSTANCES = f"""
INSERT INTO process_instance (id, definition_id, spec_hash, process_id, title, status, state_json,
  serializer_version, next_timer_at, last_progress_at, started_by_id, started_org, township_code,
  confidential, started_at, updated_at, completed_at, waits, party_orgs, clocks, lock_version)
SELECT c.new_id, b.definition_id, b.spec_hash, b.process_id, left(b.title || ' #' || c.k, 300),
  b.status, b.state_json, b.serializer_version,
  CASE WHEN b.next_timer_at IS NULL THEN NULL
       WHEN c.k % 2000 = 0 THEN :now - interval '1 minute'
       ELSE :now + (c.k % 30 + 1) * interval '1 day' END,
  :now - c.idle, b.started_by_id, {MOVED.format(column="b.started_org")},
  {MOVED.format(column="b.township_code")}, b.confidential,
  least(b.started_at - c.shift, :now - c.idle), :now - c.idle,
  b.completed_at - c.shift, b.waits, b.party_orgs, b.clocks, 1
FROM scale_copy c JOIN process_instance b ON b.id = c.base_id
"""  # noqa: S608 - fixed SQL text; every value is a bound parameter
PARTIES = f"""
INSERT INTO instance_party (instance_id, org_code)
SELECT c.new_id, {MOVED.format(column="p.org_code")}
FROM scale_copy c JOIN instance_party p ON p.instance_id = c.base_id
"""  # noqa: S608 - fixed SQL text; every value is a bound parameter
TASKS = f"""
INSERT INTO human_task (guid, instance_id, process_id, bpmn_id, name, lane, role, org_code,
  assignee_id, status, created_at, due_at, warn_at, deadline, completed_at, completed_by_id,
  on_behalf_of_id)
SELECT gen_random_uuid()::text, c.new_id, h.process_id, h.bpmn_id, h.name, h.lane, h.role,
  moved.org,
  CASE WHEN moved.org IS DISTINCT FROM h.org_code THEN NULL ELSE h.assignee_id END,
  h.status, h.created_at - c.shift, due.at,
  CASE WHEN h.warn_at IS NULL THEN NULL WHEN h.status = 'open' THEN due.at - (h.due_at - h.warn_at)
       ELSE h.warn_at - c.shift END,
  h.deadline, h.completed_at - c.shift, h.completed_by_id, h.on_behalf_of_id
FROM scale_copy c JOIN human_task h ON h.instance_id = c.base_id
CROSS JOIN LATERAL (SELECT {MOVED.format(column="h.org_code")} AS org) moved
CROSS JOIN LATERAL (SELECT CASE
  WHEN h.due_at IS NULL THEN NULL
  WHEN h.status = 'open' THEN :now + (((c.k * 37 + h.id * 11) % 1104) - 144) * interval '1 hour'
  ELSE h.due_at - c.shift END AS at) due
"""  # noqa: S608 - fixed SQL text; every value is a bound parameter
UNFINISHED = "pi.status NOT IN ('completed', 'cancelled')"
RED_FLAGS = f"""
INSERT INTO flag (instance_id, task_id, kind, reason, since, raised_at, level, dedupe_key)
SELECT h.instance_id, h.id, 'red', '「' || h.name || '」已超过办理期限', h.due_at, h.due_at,
  CASE WHEN h.due_at < :now - interval '5 days' THEN 2
       WHEN h.due_at < :now - interval '2 days' THEN 1 ELSE 0 END,
  'red:' || h.instance_id || ':' || 'task-' || h.id
FROM scale_copy c JOIN human_task h ON h.instance_id = c.new_id
JOIN process_instance pi ON pi.id = h.instance_id
WHERE h.status = 'open' AND h.due_at < :now AND {UNFINISHED}
"""  # noqa: S608 - fixed SQL text; every value is a bound parameter
YELLOW_FLAGS = f"""
INSERT INTO flag (instance_id, task_id, kind, reason, since, raised_at, level, dedupe_key)
SELECT h.instance_id, h.id, 'yellow', '「' || h.name || '」即将到期', h.warn_at, h.warn_at, 0,
  'yellow:' || h.instance_id || ':' || 'task-' || h.id
FROM scale_copy c JOIN human_task h ON h.instance_id = c.new_id
JOIN process_instance pi ON pi.id = h.instance_id
WHERE h.status = 'open' AND h.warn_at <= :now AND h.due_at >= :now AND {UNFINISHED}
"""  # noqa: S608 - fixed SQL text; every value is a bound parameter
STALL_FLAGS = """
INSERT INTO flag (instance_id, task_id, kind, reason, since, raised_at, level, dedupe_key)
SELECT pi.id, NULL, 'stalled', '案件已超过 72 小时未有进展', pi.last_progress_at,
  pi.last_progress_at + interval '72 hours', 2, 'stalled:' || pi.id || ':' || 'bulk'
FROM scale_copy c JOIN process_instance pi ON pi.id = c.new_id
WHERE pi.status IN ('running', 'waiting') AND pi.last_progress_at < :now - interval '72 hours'
"""


def bulk_copy(session: Session, *, wanted: int, now: datetime) -> int:
    """Copy the existing instances until there are `wanted`; returns how many were added."""
    bases = session.scalar(select(func.count()).select_from(ProcessInstance)) or 0
    missing = wanted - bases
    if bases == 0 or missing <= 0:
        return 0
    copies = -(-missing // bases)
    session.execute(text(ORG_RANK))
    session.execute(text(COPY_MAP), {"copies": copies, "wanted": missing})
    for statement in (INSTANCES, PARTIES, TASKS, RED_FLAGS, YELLOW_FLAGS, STALL_FLAGS):
        session.execute(text(statement), {"now": now})
    return missing
