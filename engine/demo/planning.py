"""Demo planning data: about 500 Yengisar enterprises, agencies' items, plans and history.

Deterministic for a given `rng_seed`. It creates no users or organizations: the inspector
registry is whatever certified users exist, and some of them get declared conflicts.
Enforcement fields used by the items are in FIELD_BY_AGENCY; certificates must use the
same values for those officers to be drawn.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date
from datetime import datetime
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from engine.models import Certificate
from engine.models import User
from engine.planning import service
from engine.planning.credit_code import CHARSET
from engine.planning.credit_code import check_character
from engine.planning.credit_code import org_code_check_character
from engine.planning.models import AnnualPlan
from engine.planning.models import CreditGrade
from engine.planning.models import InspectionItem
from engine.planning.models import InspectionMethod
from engine.planning.models import InspectionObject
from engine.planning.models import InspectorConflict
from engine.planning.models import RiskGrade
from engine.planning.townships import TOWNSHIPS

DIVISION_CODE = "653123"
LEGAL_TZ = ZoneInfo("Asia/Shanghai")

FIELD_BY_AGENCY: dict[str, str] = {
    "YJS-SCJG": "market_regulation",
    "YJS-YJ": "work_safety",
    "YJS-WJW": "health",
    "YJS-STHJ": "ecology_environment",
    "YJS-JT": "transport",
    "YJS-ZJ": "construction",
}

# industry -> (name suffixes, risk weights low/medium/high, entity type code)
INDUSTRIES: dict[str, tuple[tuple[str, ...], tuple[int, int, int], str]] = {
    "餐饮": (("餐厅", "拉面馆", "烤肉店", "抓饭馆"), (3, 5, 2), "2"),
    "食品销售": (("超市", "便利店", "干果店", "食品商行"), (5, 4, 1), "2"),
    "危险化学品": (("化工有限公司", "危险化学品经营部"), (0, 3, 7), "1"),
    "建筑施工": (("建筑工程有限公司", "建设工程有限公司"), (1, 4, 5), "1"),
    "道路运输": (("运输有限公司", "物流有限公司"), (2, 5, 3), "1"),
    "药品零售": (("大药房", "药店"), (3, 5, 2), "1"),
    "公共场所": (("宾馆", "浴池", "理发店"), (4, 4, 2), "2"),
    "手工艺品制造": (("小刀厂", "民族手工艺品合作社"), (6, 3, 1), "1"),
    "农产品加工": (("杏业有限公司", "农产品加工厂"), (4, 4, 2), "1"),
}

BRANDS = (
    "丝路", "天山", "昆仑", "杏花", "帕米尔", "阿依", "古丽", "玉山", "金杏", "绿洲",
    "友谊", "吉祥", "顺达", "福源", "鑫盛", "康泰", "安达", "恒信", "塔里木", "红柳",
)  # fmt: skip

# (agency, item code, name, legal basis, method)
ITEMS: tuple[tuple[str, str, str, str, InspectionMethod], ...] = (
    (
        "YJS-SCJG",
        "SCJG-001",
        "食品经营者落实食品安全主体责任检查",
        "《中华人民共和国食品安全法》",
        InspectionMethod.SITE,
    ),
    (
        "YJS-SCJG",
        "SCJG-002",
        "药品零售企业经营行为检查",
        "《中华人民共和国药品管理法》",
        InspectionMethod.SITE,
    ),
    (
        "YJS-SCJG",
        "SCJG-003",
        "企业年度报告公示信息检查",
        "《企业信息公示暂行条例》",
        InspectionMethod.WRITTEN,
    ),
    (
        "YJS-YJ",
        "YJ-001",
        "危险化学品经营单位安全条件检查",
        "《危险化学品安全管理条例》",
        InspectionMethod.SITE,
    ),
    (
        "YJS-YJ",
        "YJ-002",
        "生产经营单位安全生产主体责任检查",
        "《中华人民共和国安全生产法》",
        InspectionMethod.SITE,
    ),
    ("YJS-WJW", "WJW-001", "公共场所卫生检查", "《公共场所卫生管理条例》", InspectionMethod.SITE),
    (
        "YJS-WJW",
        "WJW-002",
        "从业人员健康证明检查",
        "《中华人民共和国食品安全法》",
        InspectionMethod.WRITTEN,
    ),
    (
        "YJS-STHJ",
        "STHJ-001",
        "排污许可执行情况检查",
        "《排污许可管理条例》",
        InspectionMethod.REMOTE,
    ),
    (
        "YJS-STHJ",
        "STHJ-002",
        "危险废物规范化管理检查",
        "《中华人民共和国固体废物污染环境防治法》",
        InspectionMethod.SITE,
    ),
    (
        "YJS-JT",
        "JT-001",
        "道路运输经营者安全生产检查",
        "《中华人民共和国道路运输条例》",
        InspectionMethod.SITE,
    ),
    ("YJS-ZJ", "ZJ-001", "建筑施工安全检查", "《建设工程安全生产管理条例》", InspectionMethod.SITE),
)

# (object category, matter, lead, partners, item codes)
JOINT_ITEMS: tuple[tuple[str, str, str, tuple[str, ...], tuple[str, ...]], ...] = (
    ("餐饮", "食品安全与卫生", "YJS-SCJG", ("YJS-WJW",), ("SCJG-001", "WJW-002")),
    ("危险化学品", "危险化学品安全", "YJS-YJ", ("YJS-SCJG", "YJS-STHJ"), ("YJ-001", "STHJ-002")),
    ("建筑施工", "施工安全", "YJS-ZJ", ("YJS-YJ",), ("ZJ-001", "YJ-002")),
    ("道路运输", "运输安全", "YJS-JT", ("YJS-YJ",), ("JT-001", "YJ-002")),
)  # fmt: skip

CREDIT_WEIGHTS = (40, 40, 15, 5)


@dataclass(frozen=True)
class DemoSummary:
    objects: int
    items: int
    joint_items: int
    history: int
    conflicts: int


def seed_demo_registry(
    session: Session, *, rng_seed: int = 653123, year: int | None = None, count: int = 500
) -> DemoSummary:
    """Fill an empty planning registry with demo data (flush only); idempotent.

    Plans and joint items are made for `year` (default: this year in Asia/Shanghai) and
    the next one; past inspections fall in `year`. A registry that already holds
    objects is left alone and an all-zero summary returned.
    """
    if session.scalar(select(InspectionObject.credit_code).limit(1)) is not None:
        return DemoSummary(0, 0, 0, 0, 0)
    first_year = year or datetime.now(LEGAL_TZ).year
    rng = random.Random(rng_seed)  # noqa: S311 - reproducible demo data, not security
    used: set[str] = set()
    objects = [_make_object(rng, used) for _ in range(count)]
    session.add_all(objects)
    items = {row[1]: _make_item(*row) for row in ITEMS}
    session.add_all(items.values())
    session.flush()
    joint = 0
    for plan_year in (first_year, first_year + 1):
        joint += _seed_plan(session, plan_year, items)
    history = _seed_history(session, rng, objects, first_year)
    conflicts = _seed_conflicts(session, rng, objects)
    return DemoSummary(len(objects), len(items), joint, history, conflicts)


def _seed_plan(session: Session, year: int, items: dict[str, InspectionItem]) -> int:
    if session.scalar(select(AnnualPlan.id).where(AnnualPlan.year == year)) is not None:
        return 0
    service.create_annual_plan(
        session,
        year=year,
        title=f"英吉沙县{year}年度涉企行政检查计划",
        cap_per_agency_per_entity=2,
        cap_all_agencies_per_entity=4,
        sampling_ratio=0.3,
    )
    for category, matter, lead, partners, codes in JOINT_ITEMS:
        service.add_joint_item(
            session,
            year=year,
            object_category=category,
            matter=matter,
            lead_agency=lead,
            participating_agencies=partners,
            item_ids=[items[c].id for c in codes],
        )
    return len(JOINT_ITEMS)


def make_credit_code(rng: random.Random, entity_type: str = "1") -> str:
    """A random, well-formed unified social credit code registered in Yengisar."""
    body = "".join(rng.choice(CHARSET[:10] + "ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
    first17 = "9" + entity_type + DIVISION_CODE + body + org_code_check_character(body)
    return first17 + check_character(first17)


def _make_object(rng: random.Random, used: set[str]) -> InspectionObject:
    """A random enterprise whose name and credit code are not in `used` yet."""
    industry = rng.choice(sorted(INDUSTRIES))
    suffixes, risk_weights, entity_type = INDUSTRIES[industry]
    township = rng.choice(TOWNSHIPS)
    name = code = ""
    while not name or name in used or code in used:
        name = f"英吉沙县{township.name[:-1]}{rng.choice(BRANDS)}{rng.choice(suffixes)}"
        code = make_credit_code(rng, entity_type)
    used.update((name, code))
    return InspectionObject(
        credit_code=code,
        name=name,
        township_code=township.org_code,
        industry=industry,
        risk_grade=rng.choices(list(RiskGrade), weights=risk_weights)[0],
        credit_grade=rng.choices(list(CreditGrade), weights=CREDIT_WEIGHTS)[0],
        active=True,
    )


def _make_item(
    agency: str, code: str, name: str, basis: str, method: InspectionMethod
) -> InspectionItem:
    return InspectionItem(
        agency_code=agency,
        item_code=code,
        name=name,
        legal_basis=basis,
        method=method,
        field=FIELD_BY_AGENCY[agency],
        version="1",
    )


def _seed_history(
    session: Session, rng: random.Random, objects: list[InspectionObject], year: int
) -> int:
    """Past inspections in the first half of `year`; a few entities reach their caps."""
    agencies = sorted(FIELD_BY_AGENCY)
    added = 0
    for obj in rng.sample(objects, k=len(objects) // 5):
        visits = rng.choices((1, 2, 4), weights=(6, 3, 1))[0]
        for _ in range(visits):
            day = date(year, 1, 2) + timedelta(days=rng.randrange(170))
            added += service.record_inspection(
                session,
                credit_codes=[obj.credit_code],
                agencies=[rng.choice(agencies[:2] if visits == 4 else agencies)],
                day=day,
                instance_id=None,
            )
    return added


def _seed_conflicts(session: Session, rng: random.Random, objects: list[InspectionObject]) -> int:
    certified = session.scalars(
        select(User).where(User.certificates.any(Certificate.id.is_not(None))).order_by(User.id)
    )
    added = 0
    for user in certified:
        if rng.random() < 0.2:
            code = rng.choice(objects).credit_code
            session.add(InspectorConflict(user_id=user.id, credit_code=code, reason="亲属关系"))
            added += 1
    session.flush()
    return added
