"""The demo autopilot's form filler: plausible values for a task form from its JSON Schema.

Choices the server offers (`x-xietong-choices`) are drawn from the task's data, teams from
the certified officers of the task's organization; everything else from the schema alone.
"""

from __future__ import annotations

import random
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from engine.cases.form_offers import CHOICES
from engine.cases.form_offers import offered
from engine.execution.script_api import LEGAL_TZ
from engine.models import Role
from engine.models import User


class FormFiller:
    """Fills a JSON Schema form with plausible values."""

    def __init__(self, rng: random.Random, users: Mapping[str, User], now: datetime) -> None:
        self.rng = rng
        self.users = users
        self.now = now

    def fill(
        self,
        schema: Mapping[str, Any],
        org_code: str | None,
        task_data: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        data: dict[str, Any] = {}
        for key, prop in schema.get("properties", {}).items():
            if prop.get("x-xietong-stamp"):
                continue
            choices = offered(prop[CHOICES], task_data or {}) if CHOICES in prop else None
            if "x-xietong-team" in prop:
                team, field = self._team(org_code)
                data[key] = choices[:2] if choices else team
                ref = str(prop["x-xietong-team"].get("field") or "")
                if ref.startswith("=") and ref[1:] in schema.get("properties", {}):
                    data[ref[1:]] = field
                continue
            if prop.get("x-xietong-users"):
                data[key] = self._colleagues(org_code)
                continue
            if choices:
                pick = self.rng.choice(choices)
                data[key] = [pick] if prop.get("type") == "array" else pick
            elif key not in data:
                data[key] = self.document_no() if key.endswith("_no") else self.value(prop)
        return data

    def _colleagues(self, org_code: str | None) -> list[str]:
        """The head and liaison of the organization: a plausible need-to-know access list."""
        wanted = {Role.HEAD, Role.DISCIPLINE_LIAISON}
        found = [u for u in self.users.values() if u.org_code == org_code and u.role in wanted]
        return sorted(u.username for u in found)

    def _team(self, org_code: str | None) -> tuple[list[str], str]:
        today = self.now.astimezone(LEGAL_TZ).date()
        officers = [
            u
            for u in self.users.values()
            if u.org_code == org_code and any(c.valid_until >= today for c in u.certificates)
        ]
        officers.sort(key=lambda u: u.username)
        field = officers[0].certificates[0].fields[0] if officers else ""
        return [u.username for u in officers[:2]], field

    def document_no(self) -> str:
        """A plausible Chinese document number (agency, year in tortoise brackets, serial)."""
        return f"英演〔{self.now.astimezone(LEGAL_TZ).year}〕{self.rng.randint(10, 99)}号"

    def value(self, prop: Mapping[str, Any]) -> Any:
        options = [o["const"] for o in prop.get("oneOf", []) if "const" in o] or prop.get("enum")
        if options:
            return self.rng.choice(options)
        kind = prop.get("type")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "string")
        return self._typed(kind, prop)

    def _typed(self, kind: Any, prop: Mapping[str, Any]) -> Any:
        if kind == "boolean":
            return self.rng.random() < 0.3
        if kind in {"integer", "number"}:
            return max(int(prop.get("minimum", 1)), 1)
        if kind == "array":
            items = prop.get("items", {})
            return [self.value(items)] * max(int(prop.get("minItems", 1)), 1)
        if kind == "object":
            return self.fill(prop, None)
        return self._string(prop)

    def _string(self, prop: Mapping[str, Any]) -> str:
        local = self.now.astimezone(LEGAL_TZ)
        formats = {
            "date": local.date().isoformat(),
            "date-time": local.replace(microsecond=0).isoformat(),
        }
        fmt = prop.get("format")
        if fmt in formats:
            return formats[fmt]
        return "演示：已按规定办理。"
