"""What the planning pages show: labels, who may see a draw, and the draw record's display."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Organization
from engine.models import OrgType
from engine.models import Role
from engine.models import User
from engine.planning.models import DrawKind
from engine.planning.models import DrawRecord
from engine.planning.townships import TOWNSHIPS

PLANNING_ORG_TYPES = frozenset({OrgType.AGENCY, OrgType.TOWNSHIP, OrgType.JUSTICE_BUREAU})


RISK_GRADE_LABELS: Mapping[str, str] = {"low": "低风险", "medium": "中风险", "high": "高风险"}


CREDIT_GRADE_LABELS: Mapping[str, str] = {"A": "A 级", "B": "B 级", "C": "C 级", "D": "D 级"}


METHOD_LABELS: Mapping[str, str] = {
    "site": "现场检查",
    "written": "书面检查",
    "remote": "非现场检查",
}


DRAW_KIND_LABELS: Mapping[str, str] = {
    DrawKind.OBJECTS: "抽取检查对象",
    DrawKind.INSPECTORS: "抽取执法检查人员",
}


FILTER_LABELS: Mapping[str, str] = {
    "industries": "行业",
    "townships": "乡镇",
    "risk_grades": "风险等级",
    "credit_grades": "信用等级",
    "exclude": "排除",
}


# verify_draw reasons (English, engine) by their start -> the Chinese the page shows.
VERIFY_REASONS: tuple[tuple[str, str], ...] = (
    ("candidate list does not match", "候选名单与存档的哈希值不一致，名单在抽取后被改动。"),
    ("unknown algorithm version", "存档的算法版本无法识别，无法复算。"),
    ("the draw has not been run", "该记录尚未进行抽取。"),
    ("stored result differs", "存档的抽取结果与按种子和候选名单重新计算的结果不一致。"),
    (
        "stored parameters cannot be replayed",
        "存档记录不完整（抽取参数缺失或格式错误），无法复算。",
    ),
)


NOT_IN_CANDIDATES = "（不在候选名单中）"


UNKNOWN_OFFICER = "（未登记的人员）"


def org_names(session: Session) -> dict[str, str]:
    """Organization code -> Chinese name, for tables that store codes."""
    return {
        code: name for code, name in session.execute(select(Organization.code, Organization.name))
    }


def township_names() -> dict[str, str]:
    """Township organization code -> Chinese name."""
    return {township.org_code: township.name for township in TOWNSHIPS}


def is_justice_bureau(user: User) -> bool:
    return user.organization.type == OrgType.JUSTICE_BUREAU


def sees_all_draws(user: User) -> bool:
    """Coordinators and the justice bureau supervise every draw."""
    return user.role == Role.COORDINATOR or is_justice_bureau(user)


def may_use_planning(user: User) -> bool:
    return sees_all_draws(user) or user.organization.type in PLANNING_ORG_TYPES


def participants(record: DrawRecord, parent: DrawRecord | None = None) -> set[str]:
    """Organization codes that took part in a draw (an inspector draw adds its parent's)."""
    params = record.params or {}
    found = {str(code) for code in params.get("agencies", [])}
    if params.get("lead_org"):
        found.add(str(params["lead_org"]))
    result = record.result if isinstance(record.result, dict) else {}
    found.update(str(code) for code in result.get("teams", {}))
    if parent is not None:
        found |= participants(parent)
    return found


def may_see_draw(user: User, record: DrawRecord, parent: DrawRecord | None) -> bool:
    return sees_all_draws(user) or user.org_code in participants(record, parent)


@dataclass(frozen=True)
class TeamMember:
    """An inspector as a draw page shows them: name and unit, certificate when internal."""

    username: str
    name: str
    unit: str
    certificate: str


@dataclass(frozen=True)
class DrawView:
    """What both draw pages show of one record, with codes resolved to names."""

    record: DrawRecord
    kind_label: str
    objects: list[dict[str, str]]
    teams: dict[str, list[TeamMember]]
    redraws: list[dict[str, Any]]
    names: dict[str, str]
    candidate_count: int


def drawn_objects(record: DrawRecord, result: Any) -> list[dict[str, str]]:
    """The drawn entities of `result` in draw order; unknown codes still listed (tampering)."""
    objects = result.get("objects", []) if isinstance(result, dict) else []
    candidates = record.candidates if isinstance(record.candidates, list) else []
    by_code = {c.get("credit_code"): c for c in candidates if isinstance(c, dict)}
    return [
        by_code.get(code, {"credit_code": str(code), "name": NOT_IN_CANDIDATES}) for code in objects
    ]


def team_members(session: Session, result: Any) -> dict[str, list[TeamMember]]:
    teams = result.get("teams", {}) if isinstance(result, dict) else {}
    usernames = [m.get("username", "") for team in teams.values() for m in team]
    users = {
        user.username: user
        for user in session.scalars(select(User).where(User.username.in_(usernames)))
    }
    return {
        agency: [_team_member(member, users, agency) for member in team]
        for agency, team in sorted(teams.items())
    }


def _team_member(member: Mapping[str, str], users: Mapping[str, User], agency: str) -> TeamMember:
    """A drawn officer by display name and unit (an unknown account shows no username)."""
    username = member.get("username", "")
    user = users.get(username)
    if user is None:
        return TeamMember(username, UNKNOWN_OFFICER, agency, member.get("certificate", ""))
    name = user.display_name or user.username
    return TeamMember(username, name, user.organization.name, member.get("certificate", ""))


def _candidate_count(record: DrawRecord) -> int:
    candidates = record.candidates
    if isinstance(candidates, dict):
        return sum(len(entry.get("officers", [])) for entry in candidates.values())
    return len(candidates or [])


def draw_view(session: Session, record: DrawRecord) -> DrawView:
    result = record.result if isinstance(record.result, dict) else {}
    return DrawView(
        record=record,
        kind_label=DRAW_KIND_LABELS.get(record.kind, str(record.kind)),
        objects=drawn_objects(record, result),
        teams=team_members(session, result),
        redraws=list(result.get("redraws", [])),
        names=org_names(session),
        candidate_count=_candidate_count(record),
    )


def verify_reasons(reasons: Iterable[str]) -> list[str]:
    """verify_draw's reasons in Chinese; an unknown one is shown as the engine wrote it."""
    shown = []
    for reason in reasons:
        found = next((text for start, text in VERIFY_REASONS if reason.startswith(start)), reason)
        shown.append(found)
    return shown
