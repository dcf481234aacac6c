from collections import Counter
from datetime import date

from engine.planning.draws import DEFAULT_WEIGHTS
from engine.planning.draws import candidate_hash
from engine.planning.draws import canonical_json
from engine.planning.draws import new_seed
from engine.planning.draws import select_objects
from engine.planning.draws import select_teams
from engine.planning.scheduling import is_weekday

SEED = "00" * 32


def candidates(n: int, risk: str = "medium", credit: str = "B") -> list[dict[str, str]]:
    return [
        {"credit_code": f"C{i:04d}", "name": f"企业{i}", "risk_grade": risk, "credit_grade": credit}
        for i in range(n)
    ]


def test_same_seed_and_list_give_the_same_draw() -> None:
    pool = candidates(50)
    first = select_objects(SEED, pool, 5, DEFAULT_WEIGHTS)
    again = select_objects(SEED, [dict(c) for c in pool], 5, DEFAULT_WEIGHTS)
    assert first == again
    assert len(set(first)) == 5


def test_another_seed_gives_another_draw() -> None:
    pool = candidates(50)
    assert select_objects(SEED, pool, 5, DEFAULT_WEIGHTS) != select_objects(
        "11" * 32, pool, 5, DEFAULT_WEIGHTS
    )


def test_a_changed_list_changes_the_hash_and_the_draw() -> None:
    pool = candidates(50)
    tampered = [*pool[:-1], {**pool[-1], "risk_grade": "high"}]
    assert candidate_hash(pool) != candidate_hash(tampered)
    assert select_objects(SEED, pool, 5, DEFAULT_WEIGHTS) != select_objects(
        SEED, tampered, 5, DEFAULT_WEIGHTS
    )


def test_canonical_json_ignores_key_order_and_keeps_chinese() -> None:
    assert canonical_json({"b": 1, "a": "镇"}) == canonical_json({"a": "镇", "b": 1})
    assert "镇".encode() in canonical_json({"a": "镇"})


def test_high_risk_entities_are_drawn_more_often() -> None:
    pool = candidates(100, risk="low") + [
        {**c, "credit_code": "H" + c["credit_code"]} for c in candidates(100, risk="high")
    ]
    tally: Counter[str] = Counter()
    for i in range(40):
        for code in select_objects(f"{i:064x}", pool, 10, DEFAULT_WEIGHTS):
            tally[code[0]] += 1
    assert tally["H"] > 2 * tally["C"]


def test_new_seed_is_64_hex_characters_and_fresh() -> None:
    first, second = new_seed(), new_seed()
    assert len(first) == 64
    assert int(first, 16) >= 0
    assert first != second


def officers(*specs: tuple[str, list[str]]) -> list[dict[str, object]]:
    return [{"username": u, "certificate": f"N-{u}", "conflicts": c} for u, c in specs]


def test_conflicted_officers_are_recused_and_replaced_in_the_log() -> None:
    conflicted = [f"officer{i}" for i in range(5)]
    pool = {
        "A": {
            "field": "f",
            "officers": officers(
                *[(n, ["X1"]) for n in conflicted], ("clean1", []), ("clean2", [])
            ),
        }
    }
    outcome = select_teams(SEED, pool, 2)
    assert sorted(m["username"] for m in outcome["teams"]["A"]) == ["clean1", "clean2"]
    assert outcome["redraws"]
    for redraw in outcome["redraws"]:
        assert redraw["username"] in conflicted
        assert redraw["reason"] == "conflict_of_interest"
        assert redraw["credit_codes"] == ["X1"]
    assert outcome["redraws"][0]["replaced_by"] in {"clean1", "clean2"}


def test_team_comes_out_short_when_too_many_are_conflicted() -> None:
    pool = {"A": {"field": "f", "officers": officers(("a", ["X"]), ("b", ["X"]), ("c", []))}}
    outcome = select_teams(SEED, pool, 2)
    assert [m["username"] for m in outcome["teams"]["A"]] == ["c"]
    assert len(outcome["redraws"]) == 2


def test_is_weekday_rejects_weekends() -> None:
    assert is_weekday(date(2026, 11, 27))
    assert not is_weekday(date(2026, 11, 28))
    assert not is_weekday(date(2026, 11, 29))
