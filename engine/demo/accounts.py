"""Demo organizations and accounts of Yengisar County (DOMAIN.md sections 10 and 11).

`seed_demo_accounts` is idempotent: it adds what is missing and never changes existing rows.
Every demo account has the password DEMO_PASSWORD. The county court (YJS-FY) is left out:
OrgType has no court type, and filing it as an agency would let it start agency processes.
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Certificate
from engine.models import Organization
from engine.models import OrgType
from engine.models import Role
from engine.people.accounts import add_certificate
from engine.people.accounts import create_org
from engine.people.accounts import create_user
from engine.people.accounts import find_user
from engine.people.accounts import hash_password

DEMO_PASSWORD = "demo1234"  # noqa: S105 - documented demo password
CERT_VALID_FROM = date(2024, 1, 1)
CERT_VALID_UNTIL = date(2029, 12, 31)

COUNTY_ORGS: tuple[tuple[str, OrgType, str], ...] = (
    ("YJS-GOV", OrgType.COUNTY_GOVERNMENT, "英吉沙县人民政府"),
    ("YJS-SFJ", OrgType.JUSTICE_BUREAU, "英吉沙县司法局"),
    ("YJS-BB", OrgType.ESTABLISHMENT_OFFICE, "中共英吉沙县委机构编制委员会办公室"),
    ("YJS-SCJG", OrgType.AGENCY, "英吉沙县市场监督管理局"),
    ("YJS-STHJ", OrgType.AGENCY, "喀什地区生态环境局英吉沙县分局"),
    ("YJS-YJ", OrgType.AGENCY, "英吉沙县应急管理局"),
    ("YJS-NYNC", OrgType.AGENCY, "英吉沙县农业农村局"),
    ("YJS-JT", OrgType.AGENCY, "英吉沙县交通运输局"),
    ("YJS-WTGL", OrgType.AGENCY, "英吉沙县文化体育广播电视和旅游局"),
    ("YJS-ZRZY", OrgType.AGENCY, "英吉沙县自然资源局"),
    ("YJS-WJW", OrgType.AGENCY, "英吉沙县卫生健康委员会"),
    ("YJS-ZJ", OrgType.AGENCY, "英吉沙县住房和城乡建设局"),
    ("YJS-SL", OrgType.AGENCY, "英吉沙县水利局"),
    ("YJS-LC", OrgType.AGENCY, "英吉沙县林业和草原局"),
    ("YJS-RS", OrgType.AGENCY, "英吉沙县人力资源和社会保障局"),
    ("YJS-JY", OrgType.AGENCY, "英吉沙县教育局"),
    ("YJS-SW", OrgType.AGENCY, "国家税务总局英吉沙县税务局"),
    ("YJS-YB", OrgType.AGENCY, "英吉沙县医疗保障局"),
    ("YJS-GA", OrgType.POLICE, "英吉沙县公安局"),
    ("YJS-JCY", OrgType.PROCURATORATE, "英吉沙县人民检察院"),
    ("YJS-JW", OrgType.DISCIPLINE_COMMISSION, "中共英吉沙县纪律检查委员会 英吉沙县监察委员会"),
    # Receives clues from vertically managed units (tax) and about prefecture-managed cadres.
    ("KS-JW", OrgType.DISCIPLINE_COMMISSION, "中共喀什地区纪律检查委员会 喀什地区监察委员会"),
)

TOWNSHIPS: tuple[tuple[str, str], ...] = (
    ("TWP-YINGJISHA", "英吉沙镇人民政府"),
    ("TWP-WUQIA", "乌恰镇人民政府"),
    ("TWP-MANGXIN", "芒辛镇人民政府"),
    ("TWP-SAHAN", "萨罕镇人民政府"),
    ("TWP-CHENGGUAN", "城关乡人民政府"),
    ("TWP-QIAOLEPAN", "乔勒潘乡人民政府"),
    ("TWP-LONGFU", "龙甫乡人民政府"),
    ("TWP-SETILI", "色提力乡人民政府"),
    ("TWP-YINGYEER", "英也尔乡人民政府"),
    ("TWP-KEZILE", "克孜勒乡人民政府"),
    ("TWP-TUOPULUKE", "托普鲁克乡人民政府"),
    ("TWP-SUGAITI", "苏盖提乡人民政府"),
    ("TWP-AIGUSI", "艾古斯乡人民政府"),
    ("TWP-YIGEZIYEER", "依格孜也尔乡人民政府"),
)

# Agencies with a full team: (username prefix, org code, enforcement field, short name).
CERTIFIED_AGENCIES: tuple[tuple[str, str, str, str], ...] = (
    ("scjg", "YJS-SCJG", "market_regulation", "市场监管局"),
    ("yj", "YJS-YJ", "work_safety", "应急管理局"),
    ("wjw", "YJS-WJW", "health", "卫健委"),
)

# (username, org code, role, display name) of the accounts outside the certified teams.
OTHER_USERS: tuple[tuple[str, str, Role, str], ...] = (
    ("admin", "YJS-SFJ", Role.ADMIN, "系统管理员"),
    ("sfj_coordinator", "YJS-SFJ", Role.COORDINATOR, "司法局 执法协调监督"),
    ("sfj_legal", "YJS-SFJ", Role.LEGAL_REVIEWER, "司法局 法制审核"),
    ("ga_officer", "YJS-GA", Role.OFFICER, "公安局 民警"),
    ("ga_head", "YJS-GA", Role.HEAD, "公安局 负责人"),
    ("jcy_officer", "YJS-JCY", Role.OFFICER, "检察院 检察官"),
    ("jw_officer", "YJS-JW", Role.OFFICER, "纪委监委 案件监督管理室"),
    ("ksjw_officer", "KS-JW", Role.OFFICER, "喀什地区纪委监委 案件监督管理室"),
    ("bb_officer", "YJS-BB", Role.OFFICER, "县委编办 工作人员"),
    ("gov_head", "YJS-GOV", Role.HEAD, "县人民政府 负责人"),
    ("yingjisha_officer1", "TWP-YINGJISHA", Role.OFFICER, "英吉沙镇 执法队员1"),
    ("yingjisha_officer2", "TWP-YINGJISHA", Role.OFFICER, "英吉沙镇 执法队员2"),
    ("yingjisha_head", "TWP-YINGJISHA", Role.HEAD, "英吉沙镇 负责人"),
    ("wuqia_officer1", "TWP-WUQIA", Role.OFFICER, "乌恰镇 执法队员1"),
    ("wuqia_officer2", "TWP-WUQIA", Role.OFFICER, "乌恰镇 执法队员2"),
    ("wuqia_head", "TWP-WUQIA", Role.HEAD, "乌恰镇 负责人"),
)

TEAM_ROLES: tuple[tuple[str, Role, str], ...] = (
    ("officer1", Role.OFFICER, "执法人员1"),
    ("officer2", Role.OFFICER, "执法人员2"),
    ("officer3", Role.OFFICER, "执法人员3"),
    ("head", Role.HEAD, "负责人"),
    ("legal", Role.LEGAL_REVIEWER, "法制审核"),
    ("liaison", Role.DISCIPLINE_LIAISON, "纪检联络员"),
)


def demo_org_specs() -> list[tuple[str, OrgType, str]]:
    """Every demo organization as (code, type, name): county bodies, then townships."""
    townships = [(code, OrgType.TOWNSHIP, name) for code, name in TOWNSHIPS]
    return [*COUNTY_ORGS, *townships]


def demo_user_specs() -> list[tuple[str, str, Role, str]]:
    """Every demo account as (username, org code, role, display name)."""
    team = [
        (f"{prefix}_{suffix}", org, role, f"{short} {label}")
        for prefix, org, _field, short in CERTIFIED_AGENCIES
        for suffix, role, label in TEAM_ROLES
    ]
    return [*OTHER_USERS, *team]


def _certificate_specs() -> dict[str, tuple[str, str]]:
    """Username -> (certificate number, enforcement field) of the certified officers."""
    specs = {}
    for prefix, org, field, _short in CERTIFIED_AGENCIES:
        for n in (1, 2, 3):
            specs[f"{prefix}_officer{n}"] = (f"{org}-2024-{n:03d}", field)
    return specs


def _seed_orgs(session: Session) -> None:
    existing = set(session.scalars(select(Organization.code)))
    for code, org_type, name in demo_org_specs():
        if code not in existing:
            create_org(session, code=code, org_type=org_type, name=name)


def _seed_users(session: Session) -> None:
    # One hash for all: the demo password is public, and argon2 is slow by design.
    shared_hash = hash_password(DEMO_PASSWORD)
    for username, org, role, display in demo_user_specs():
        if find_user(session, username) is None:
            create_user(
                session,
                username=username,
                org_code=org,
                role=role,
                display_name=display,
                password_hash=shared_hash,
            )


def _seed_certificates(session: Session) -> None:
    numbers = set(session.scalars(select(Certificate.number)))
    for username, (number, field) in _certificate_specs().items():
        user = find_user(session, username)
        if user is not None and number not in numbers:
            add_certificate(
                session,
                user,
                number=number,
                fields=[field],
                valid_from=CERT_VALID_FROM,
                valid_until=CERT_VALID_UNTIL,
            )


def seed_demo_accounts(session: Session) -> list[tuple[str, str, str]]:
    """Add the demo organizations, accounts and certificates that are missing.

    Returns (username, password, description) for every demo account, existing or new.
    """
    _seed_orgs(session)
    _seed_users(session)
    _seed_certificates(session)
    return [
        (username, DEMO_PASSWORD, f"{display} ({org}, {role})")
        for username, org, role, display in demo_user_specs()
    ]
