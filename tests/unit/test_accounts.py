"""engine.people.accounts without a database: hashing, generated secrets; the demo account plan."""

from __future__ import annotations

from collections import Counter

import pytest

from engine.demo import accounts as demo_accounts
from engine.errors import InvalidTaskData
from engine.models import OrgType
from engine.models import Role
from engine.people import accounts


def test_password_hash_is_argon2_and_verifies() -> None:
    hashed = accounts.hash_password("correct horse")
    assert hashed.startswith("$argon2id$")
    assert "correct horse" not in hashed
    assert accounts.verify_password(hashed, "correct horse")
    assert not accounts.verify_password(hashed, "correct horsE")


def test_verify_rejects_a_malformed_hash() -> None:
    assert not accounts.verify_password("not-a-hash", "anything")
    assert not accounts.verify_password("", "")


def test_short_password_is_refused() -> None:
    with pytest.raises(InvalidTaskData) as refused:
        accounts.hash_password("short")
    assert "password" in refused.value.field_errors


def test_generated_passwords_are_long_and_distinct() -> None:
    generated = {accounts.generate_password() for _ in range(50)}
    assert len(generated) == 50
    assert all(len(p) >= accounts.MIN_PASSWORD_LENGTH for p in generated)


@pytest.mark.parametrize("name", ["scjg_officer1", "admin", "a.b-c", "x12"])
def test_readable_ascii_usernames_are_accepted(name: str) -> None:
    assert accounts.USERNAME_PATTERN.match(name)


@pytest.mark.parametrize("name", ["ab", "张三", "has space", "Upper", "_lead", "a" * 81])
def test_other_usernames_are_refused(name: str) -> None:
    assert not accounts.USERNAME_PATTERN.match(name)


def test_demo_organizations_follow_domain_sections_10_and_11() -> None:
    specs = demo_accounts.demo_org_specs()
    codes = [code for code, _type, _name in specs]
    assert len(codes) == len(set(codes))
    by_type = Counter(org_type for _code, org_type, _name in specs)
    assert by_type[OrgType.TOWNSHIP] == 14
    assert by_type[OrgType.POLICE] == by_type[OrgType.PROCURATORATE] == 1
    # The county commission, and the prefecture one that vertically managed units (tax) and
    # prefecture-managed cadres are referred to.
    commissions = {code for code, t, _n in specs if t == OrgType.DISCIPLINE_COMMISSION}
    assert commissions == {"YJS-JW", "KS-JW"}
    assert "YJS-FY" not in codes
    assert {"TWP-YINGJISHA", "TWP-YIGEZIYEER", "YJS-SFJ", "YJS-JW", "YJS-STHJ"} <= set(codes)
    assert all(code.startswith("TWP-") for code, t, _n in specs if t == OrgType.TOWNSHIP)


def test_demo_users_cover_every_role_in_known_organizations() -> None:
    org_codes = {code for code, _type, _name in demo_accounts.demo_org_specs()}
    users = demo_accounts.demo_user_specs()
    names = [username for username, _org, _role, _display in users]
    assert len(names) == len(set(names))
    assert all(accounts.USERNAME_PATTERN.match(name) for name in names)
    assert all(org in org_codes for _u, org, _r, _d in users)
    assert {role for _u, _o, role, _d in users} == set(Role)
    assert {"scjg_officer1", "sfj_coordinator", "ga_officer", "jw_officer"} <= set(names)
