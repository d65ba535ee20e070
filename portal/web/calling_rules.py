"""The calling-rule fields of the campaign and preference forms: coercion only.

The rules and their validation live in portal/services/calling_rules; here the
form's text fields become the API's shapes (frequencyCap {"count","hours"},
restrictedDates one line each: "2026-12-24" or "2026-12-24..2026-12-26 Name").
"""

from __future__ import annotations

from typing import Any

RULE_FIELDS = (
    "startDate",
    "endDate",
    "frequencyCapCount",
    "frequencyCapHours",
    "minGapMinutes",
    "holidayCalendars",
    "restrictedDates",
)
RANGE_MARK = ".."


def rule_form_values(row: Any, with_dates: bool) -> dict[str, str]:
    """A campaign's or the preferences' settings as the form shows them."""
    if row is None:
        return {name: "" for name in RULE_FIELDS}
    lines = []
    for item in row.restricted_dates or []:
        span = (
            item["from"]
            if item["from"] == item["to"]
            else (f"{item['from']}{RANGE_MARK}{item['to']}")
        )
        lines.append(f"{span} {item.get('name') or ''}".strip())
    values = {
        "frequencyCapCount": str(row.frequency_cap_count or ""),
        "frequencyCapHours": str(row.frequency_cap_hours or ""),
        "minGapMinutes": ""
        if row.min_gap_minutes is None
        else str(row.min_gap_minutes),
        "holidayCalendars": ", ".join(row.holiday_calendars or []),
        "restrictedDates": "\n".join(lines),
    }
    if with_dates:
        values["startDate"] = row.start_date.isoformat() if row.start_date else ""
        values["endDate"] = row.end_date.isoformat() if row.end_date else ""
    return values


def _restricted(text: str) -> list[dict[str, str]]:
    out = []
    for line in text.splitlines():
        line = line.strip()
        if not line:
            continue
        span, _, name = line.partition(" ")
        first, _, last = span.partition(RANGE_MARK)
        item = {"from": first, "to": last or first}
        if name.strip():
            item["name"] = name.strip()
        out.append(item)
    return out


def rule_form_data(values: dict[str, Any], with_dates: bool) -> dict[str, Any]:
    """The service's input from the submitted form; an emptied field clears."""

    def text(name: str) -> str:
        return str(values.get(name) or "").strip()

    count, hours = text("frequencyCapCount"), text("frequencyCapHours")
    data: dict[str, Any] = {
        "frequencyCap": {"count": count, "hours": hours} if count or hours else None,
        "minGapMinutes": text("minGapMinutes") or None,
        "holidayCalendars": [
            part.strip() for part in text("holidayCalendars").split(",") if part.strip()
        ],
        "restrictedDates": _restricted(text("restrictedDates")),
    }
    if with_dates:
        data["startDate"] = text("startDate") or None
        data["endDate"] = text("endDate") or None
    return data
