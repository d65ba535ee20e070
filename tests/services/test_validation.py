"""The shared input checks: schemas, HH:MM, week days, zones, dial times, ids."""

from __future__ import annotations

from datetime import datetime

import pytest
from pydantic import Field

from portal.services.errors import ValidationFailed
from portal.services.validation import (
    Schema,
    as_int,
    check_hhmm,
    check_time_zone,
    check_week_days,
    parse,
    parse_dial_time,
    reject_unstorable_text,
)


class Item(Schema):
    id: int
    name: str | None = Field(default=None, max_length=5)
    tags: list[int] = []


def test_parse_reads_numbers_from_strings_and_strips_text():
    item = parse(Item, {"id": "7", "name": " ab ", "tags": ["1", 2]})
    assert (item.id, item.name, item.tags) == (7, "ab", [1, 2])


@pytest.mark.parametrize(
    ("data", "fields"),
    [
        (None, {"body": "must be a JSON object"}),
        ([], {"body": "must be a JSON object"}),
        ({}, {"id": "is required"}),
        ({"id": 1, "x": 1}, {"x": "unknown field"}),
        ({"id": 2**31}, {"id": "is out of range"}),
        ({"id": -(2**31)}, {"id": "is out of range"}),
        ({"id": 1, "tags": [1, 2**40]}, {"tags.1": "is out of range"}),
        ({"id": 1, "name": "a\x00"}, {"name": "must not contain NUL characters"}),
        ({"id": 1, "name": "\ud800"}, {"name": "is not valid Unicode text"}),
        ({"id": True}, None),
        ({"id": 1.5}, None),
        ({"id": 1, "name": "toolong"}, None),
    ],
)
def test_parse_refuses_with_the_field_named(data, fields):
    with pytest.raises(ValidationFailed) as exc:
        parse(Item, data)
    assert exc.value.status == 406
    if fields is None:
        assert len(exc.value.fields) == 1
    else:
        assert exc.value.fields == fields


def test_parse_aliases_map_to_canonical_names_and_canonical_wins():
    assert parse(Item, {"ident": 3}, aliases={"ident": "id"}).id == 3
    assert parse(Item, {"ident": 3, "id": 4}, aliases={"ident": "id"}).id == 4


def test_the_largest_storable_ints_pass():
    assert parse(Item, {"id": 2**31 - 1}).id == 2**31 - 1


def test_reject_unstorable_text_walks_deep_payloads_without_recursion():
    deep: object = "ok"
    for _ in range(5000):
        deep = [deep]
    reject_unstorable_text(deep)
    with pytest.raises(ValidationFailed) as exc:
        reject_unstorable_text({"a": [{"b": "x\x00"}]})
    assert exc.value.fields == {"a.0.b": "must not contain NUL characters"}
    with pytest.raises(ValidationFailed):
        reject_unstorable_text({"\ud800": 1})


@pytest.mark.parametrize(
    ("value", "out"),
    [
        ("00:00", "00:00"),
        ("23:59", "23:59"),
        (" 08:30 ", "08:30"),
        ("08:30:00", "08:30"),
        (None, None),
    ],
)
def test_hhmm_accepts(value, out):
    assert check_hhmm(value) == out


@pytest.mark.parametrize(
    "value", ["24:00", "8:30", "08:60", "0830", "08:30:01", "", "ab:cd"]
)
def test_hhmm_refuses(value):
    with pytest.raises(ValueError):
        check_hhmm(value)


@pytest.mark.parametrize(
    ("value", "out"),
    [
        ("0,1,2", "0,1,2"),
        ("6,0", "0,6"),
        ([3, "3"], "3"),
        ("1, 2 ,", "1,2"),
        (None, None),
    ],
)
def test_week_days_accept(value, out):
    assert check_week_days(value) == out


@pytest.mark.parametrize("value", ["7", "", " ", "0-6", "sun", [], ["1", "x"], "1.0"])
def test_week_days_refuse(value):
    with pytest.raises(ValueError):
        check_week_days(value)


@pytest.mark.parametrize(
    "zone", ["UTC", "Europe/London", "America/New_York", "Asia/Karachi"]
)
def test_time_zones_accept(zone):
    assert check_time_zone(zone) == zone


@pytest.mark.parametrize("zone", ["PKT", "Europe/Nowhere", "/etc/localtime", "GMT+5 "])
def test_time_zones_refuse(zone):
    with pytest.raises(ValueError):
        check_time_zone(zone)


@pytest.mark.parametrize(
    ("value", "out"),
    [
        ("2019-11-12 15:10:20", datetime(2019, 11, 12, 15, 10, 20)),
        ("2019-11-12T15:10:20Z", datetime(2019, 11, 12, 15, 10, 20)),
        ("2019-11-12 15:10", datetime(2019, 11, 12, 15, 10)),
        (" 2019-11-12 15:10:20 ", datetime(2019, 11, 12, 15, 10, 20)),
    ],
)
def test_dial_time_accepts(value, out):
    assert parse_dial_time(value) == out


@pytest.mark.parametrize(
    "value",
    [
        "2019-11-12 15:10:20+05:00",
        "12/11/2019 15:10",
        "1969-12-31 23:59:59",
        "9001-01-01 00:00:00",
        "soon",
    ],
)
def test_dial_time_refuses(value):
    with pytest.raises(ValueError):
        parse_dial_time(value)


@pytest.mark.parametrize(("value", "out"), [(1, 1), ("42", 42), (" 7 ", 7), (-3, -3)])
def test_as_int_accepts(value, out):
    assert as_int(value, "id") == out


@pytest.mark.parametrize("value", [None, True, "x", "1.5", 2**31, "", [], {}])
def test_as_int_refuses_with_the_field_named(value):
    with pytest.raises(ValidationFailed) as exc:
        as_int(value, "csId")
    assert list(exc.value.fields) == ["csId"]
