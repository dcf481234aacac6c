import random

import pytest

from engine.demo.planning import make_credit_code
from engine.planning.credit_code import check_character
from engine.planning.credit_code import credit_code_problem
from engine.planning.credit_code import is_valid_credit_code
from engine.planning.townships import TOWNSHIP_CODE_BY_NAME
from engine.planning.townships import TOWNSHIPS
from engine.planning.townships import township_code

# The reference sample plus three codes of the same shape; each also passes the
# GB 11714 check embedded at position 17, which random strings rarely do.
KNOWN_VALID = (
    "91350100M000100Y43",
    "91110000600037341L",
    "91440300708461136T",
    "911100001000054748",
)


@pytest.mark.parametrize("code", KNOWN_VALID)
def test_known_valid_codes_pass(code: str) -> None:
    assert credit_code_problem(code) is None


@pytest.mark.parametrize(
    ("code", "fragment"),
    [
        ("91350100M000100Y44", "check digit is 4, expected 3"),
        ("91110000600037341M", "check digit is M, expected L"),
        ("91350100M000100Y4", "must be 18 characters, got 17"),
        ("91350100M000100I43", "outside"),
        ("91350100m000100Y43", "outside"),
    ],
)
def test_invalid_codes_are_explained(code: str, fragment: str) -> None:
    problem = credit_code_problem(code)
    assert problem is not None
    assert fragment in problem


def test_check_character_matches_the_last_character_of_known_codes() -> None:
    assert [check_character(c[:17]) for c in KNOWN_VALID] == [c[17] for c in KNOWN_VALID]


def test_a_single_changed_character_is_detected() -> None:
    code = "91350100M000100Y43"
    altered = code[:5] + "2" + code[6:]
    assert not is_valid_credit_code(altered)


def test_generated_demo_codes_are_valid_and_registered_in_yengisar() -> None:
    rng = random.Random(7)  # noqa: S311 - reproducible test data
    codes = [make_credit_code(rng) for _ in range(200)]
    assert all(is_valid_credit_code(c) for c in codes)
    assert {c[2:8] for c in codes} == {"653123"}


def test_township_table_maps_names_to_upper_case_pinyin_codes() -> None:
    assert len(TOWNSHIPS) == 14
    assert TOWNSHIP_CODE_BY_NAME["英吉沙镇"] == "TWP-YINGJISHA"
    assert TOWNSHIP_CODE_BY_NAME["乌恰镇"] == "TWP-WUQIA"
    assert TOWNSHIP_CODE_BY_NAME["城关乡"] == "TWP-CHENGGUAN"
    assert TOWNSHIP_CODE_BY_NAME["依格孜也尔乡"] == "TWP-YIGEZIYEER"


def test_township_code_accepts_names_and_codes_and_rejects_others() -> None:
    assert township_code("乌恰镇") == "TWP-WUQIA"
    assert township_code("TWP-WUQIA") == "TWP-WUQIA"
    assert township_code("喀什市") is None
