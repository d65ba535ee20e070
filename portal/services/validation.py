"""Input schemas and the checks every adapter shares; they also feed the OpenAPI doc."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from pydantic import BaseModel, BeforeValidator, ConfigDict, model_validator
from pydantic import ValidationError as PydanticError

from portal.services.errors import ValidationFailed

HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
# The same rules as check_hhmm and check_week_days, for the OpenAPI document
# (surrounding spaces are trimmed before the check; "HH:MM:00" is read as HH:MM).
HHMM_PATTERN = r"^\s*([01][0-9]|2[0-3]):[0-5][0-9](:00)?\s*$"
WEEK_DAYS_PATTERN = r"^[\s,]*[0-6]\s*(,[\s,]*[0-6]\s*)*[\s,]*$"
MAX_TEXT = 255
# reject_unstorable_text: no NUL in any text (the OpenAPI document's patterns)
NUL_FREE = "^[^\\u0000]*$"
MAX_BODY_ITEMS = 10_000


class Schema(BaseModel):
    """Base input schema: unknown fields are refused, numeric strings coerced."""

    model_config = ConfigDict(
        extra="forbid", coerce_numbers_to_str=True, str_strip_whitespace=True
    )

    @model_validator(mode="before")
    @classmethod
    def _booleans_are_not_numbers(cls, data: Any) -> Any:
        """true/false for a number field is refused there, not read as 1/0."""
        if not isinstance(data, dict):
            return data
        for name, info in cls.model_fields.items():
            value = data.get(name)
            if isinstance(value, bool) and _takes_int(info.annotation):
                data = {**data, name: str(value).lower()}
        return data


def any_case(words) -> str:
    """A JSON-schema pattern matching any of these words in any letter case."""
    spelled = [
        "".join(f"[{c.upper()}{c.lower()}]" if c.isalpha() else c for c in word)
        for word in words
    ]
    return "(" + "|".join(spelled) + ")"


def words_pattern(words) -> str:
    """One of the words, any case, spaces trimmed; empty means the default."""
    return r"^\s*" + any_case(words) + r"?\s*$"


def _phone_pattern() -> str:
    """phones.clean_number's rule as a pattern: formatting characters anywhere, one
    leading '+', '#' and '*' anywhere, and 3 to 20 digits (of any script)."""
    from portal.services.phones import FORMATTING, MAX_DIGITS, MIN_DIGITS

    fmt = "[" + "".join(re.escape(ch) for ch in FORMATTING) + "]*"
    marks = "(?:[#*\uff03\uff0a]" + fmt + ")*"
    digit = r"(?:\d" + fmt + marks + ")"
    plus = "(?:[+\uff0b]" + fmt + ")?"
    return f"^{fmt}{plus}{marks}{digit}{{{MIN_DIGITS},{MAX_DIGITS}}}$"


def _phone_input(value: Any) -> Any:
    """A phone number is text or a whole number: 1234.5 is not read as "12345"."""
    if isinstance(value, float):
        if value.is_integer():  # JSON's 4155550100.0 is the whole number
            return str(int(value))
        raise ValueError("must be text or a whole number")
    return value


def phone_schema(schema: dict) -> None:
    """json_schema_extra of a phone number field: text by the number rule, or a
    whole number of 3 to 20 digits."""
    text: dict = {"type": "string", "pattern": _phone_pattern()}
    options = schema.pop("anyOf", None) or [dict(schema)]
    for option in options:
        if "maxLength" in option:
            text["maxLength"] = option["maxLength"]
    nullable = any(o.get("type") == "null" for o in options)
    for key in ("type", "maxLength", "minLength"):
        schema.pop(key, None)
    whole = {"type": "integer", "minimum": 100, "maximum": 10**20 - 1}
    schema["anyOf"] = [text, whole] + ([{"type": "null"}] if nullable else [])


def optional_phone_schema(schema: dict) -> None:
    """json_schema_extra of an optional phone field where blank means "not given"
    (validate_contact_fields skips None and "", and surrounding spaces are trimmed)."""
    phone_schema(schema)
    schema["anyOf"].append({"type": "string", "pattern": r"^\s*$"})


def strip_null(schema: dict, names) -> None:
    """For the OpenAPI document: these optional fields may be left out but not sent
    as null (the service refuses null where the stored value must exist)."""
    for name in names:
        prop = schema.get("properties", {}).get(name)
        if prop is None or "anyOf" not in prop:
            continue
        options = [o for o in prop["anyOf"] if o.get("type") != "null"]
        prop.pop("default", None)
        if len(options) == 1:
            del prop["anyOf"]
            prop.update(options[0])
        else:
            prop["anyOf"] = options


def _takes_int(annotation: Any) -> bool:
    if annotation is int:
        return True
    args = get_args(annotation)
    return bool(args) and int in args and bool not in args


def _describe(err: dict) -> str:
    kind = err.get("type", "")
    if kind == "extra_forbidden":
        return "unknown field"
    if kind == "missing":
        return "is required"
    msg = err.get("msg", "is not valid")
    return msg.removeprefix("Value error, ")


def parse(schema: type[Schema], data: Any, aliases: dict[str, str] | None = None):
    """Validate a request body against a schema, raising the seed's 406 on failure."""
    if not isinstance(data, dict):
        raise ValidationFailed({"body": "must be a JSON object"})
    reject_unstorable_text(data)
    data = dict(data)
    for alias, canonical in (aliases or {}).items():
        if alias in data:
            value = data.pop(alias)
            data.setdefault(canonical, value)
    try:
        model = schema.model_validate(data)
    except PydanticError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors():
            loc = ".".join(str(p) for p in err.get("loc", ())) or "body"
            fields.setdefault(loc, _describe(err))
        raise ValidationFailed(fields) from None
    _check_int_ranges(model)
    return model


INT_LIMIT = 2**31  # every integer column is a 32-bit INTEGER


def _check_int_ranges(value: Any, path: str = "") -> None:
    """Refuse integers no column can hold, before SQLite or PostgreSQL choke on them."""
    if isinstance(value, BaseModel):
        for name in value.model_fields_set:
            _check_int_ranges(getattr(value, name), f"{path}.{name}" if path else name)
    elif isinstance(value, list):
        for n, item in enumerate(value):
            _check_int_ranges(item, f"{path}.{n}")
    elif isinstance(value, int) and not isinstance(value, bool):
        if not -INT_LIMIT < value < INT_LIMIT:
            raise ValidationFailed({path or "body": "is out of range"})


def _text_problem(text: str) -> str | None:
    if "\x00" in text:
        return "must not contain NUL characters"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid Unicode text"
    return None


def reject_unstorable_text(data: Any) -> None:
    """Refuse text no database can store (NUL, lone surrogates) anywhere in a body."""
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        value, path = stack.pop()
        if isinstance(value, str):
            problem = _text_problem(value)
            if problem:
                raise ValidationFailed({path or "body": problem})
        elif isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str) and _text_problem(key):
                    raise ValidationFailed({"body": "has a bad field name"})
                stack.append((item, f"{path}.{key}" if path else str(key)))
        elif isinstance(value, list):
            prefix = f"{path}." if path else ""
            stack.extend((item, f"{prefix}{n}") for n, item in enumerate(value))


def check_hhmm(value: str | None) -> str | None:
    if value is None:
        return None
    value = str(value).strip()
    if len(value) == 8 and value.endswith(":00"):
        value = value[:5]
    if not HHMM.match(value):
        raise ValueError("must be HH:MM (00:00 to 23:59)")
    return value


def check_week_days(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, list):
        parts = [str(v).strip() for v in value]
    else:
        parts = [p.strip() for p in str(value).split(",") if p.strip()]
    if not parts:
        raise ValueError("must list at least one day 0-6 (0 = Sunday)")
    days = set()
    for part in parts:
        if part not in {"0", "1", "2", "3", "4", "5", "6"}:
            raise ValueError("must be comma-separated days 0-6 (0 = Sunday)")
        days.add(int(part))
    return ",".join(str(d) for d in sorted(days))


_ZONES: set[str] | None = None


def zone_names() -> set[str]:
    """The IANA zone names check_time_zone accepts."""
    global _ZONES
    if _ZONES is None:
        _ZONES = available_timezones()
    return {*_ZONES, "UTC"}


def check_time_zone(value: str | None) -> str | None:
    global _ZONES
    if value is None:
        return None
    if _ZONES is None:
        _ZONES = available_timezones()
    if value not in _ZONES and value != "UTC":
        raise ValueError("must be an IANA time zone such as Europe/London")
    try:
        ZoneInfo(value)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError("must be an IANA time zone such as Europe/London") from None
    return value


DIAL_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M")


def parse_dial_time(value: str) -> datetime:
    """Read a dialTime in the seed's format (or ISO 8601); the caller adds the zone."""
    text = str(value).strip()
    if text.endswith("Z"):
        text = text[:-1]
    # fromisoformat first: 40x faster than strptime and, where both accept, equal.
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
    if parsed is not None:
        if parsed.tzinfo is not None:
            raise ValueError("must be YYYY-MM-DD HH:MM:SS without a zone offset")
        return _dial_time_in_range(parsed)
    for fmt in DIAL_TIME_FORMATS:
        try:
            return _dial_time_in_range(datetime.strptime(text, fmt))
        except ValueError as exc:
            if str(exc).startswith("must"):
                raise
            continue
    raise ValueError("must be YYYY-MM-DD HH:MM:SS")


DIAL_YEARS = (1970, 9000)
_DAY = (
    r"((0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])"
    r"|(0[13-9]|1[0-2])-(29|30)|(0[13578]|1[02])-31)"
)
# parse_dial_time's seed formats as a pattern, for the OpenAPI document: years
# 1970-9000 (DIAL_YEARS), real days (Feb 29 left out), seconds optional, a trailing Z
DIAL_TIME_PATTERN = (
    r"^\s*(19[7-9]\d|[2-8]\d{3}|9000)-" + _DAY + r"[ T]([01]\d|2[0-3]):[0-5]\d"
    r"(:[0-5]\d(\.\d{1,6})?)?Z?\s*$"
)


def _dial_time_in_range(value: datetime) -> datetime:
    """Keep dial times where every time zone conversion stays a valid datetime."""
    if not DIAL_YEARS[0] <= value.year <= DIAL_YEARS[1]:
        low, high = DIAL_YEARS
        raise ValueError(f"must be between the years {low} and {high}")
    return value


def as_int(value: Any, field: str) -> int:
    """Read an id given as a number or numeric string, or raise the seed's 406."""
    if isinstance(value, bool) or value is None:
        raise ValidationFailed({field: "must be an integer"})
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # JSON's 76.0 is the integer 76
    try:
        number = int(str(value).strip())
    except (TypeError, ValueError):
        raise ValidationFailed({field: "must be an integer"}) from None
    if not -(2**31) < number < 2**31:
        raise ValidationFailed({field: "is out of range"})
    return number


# A phone number field: refuses fractions (see _phone_input); the OpenAPI document
# states the number rule (add json_schema_extra=phone_schema on the Field)
PhoneText = Annotated[str, BeforeValidator(_phone_input)]
