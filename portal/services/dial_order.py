"""Which due contacts a campaign dials first: its dialOrder, callbacks ahead of all.

Each order is served by an index on pending contacts (portal/models/contacts.py), so
a claim reads its batch in index order and stops, at any campaign size:

- `due`: oldest dialTime first (ix_contacts_due), the ECM behaviour;
- `priority`: higher contact priority first, then oldest due (ix_contacts_priority);
- `newest`: the most recently added first (ix_contacts_newest);
- `random`: a fixed shuffle of the contact ids, a multiplicative hash of the id
  (ix_contacts_shuffle), so the order is unrelated to upload order yet needs no
  sort of the whole campaign. ORDER BY random() would read every due contact.

Customer callbacks (results 14 and 15 with a requested time, or one set in the
portal) come first whatever the order, earliest requested first (ix_contacts_callback).
The partial indexes cover `request_state = 0`; the queries repeat that predicate as
SQL text because neither database matches a partial index against a bound parameter.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, Select, UnaryExpression, literal_column, text

from portal.models import Contact
from portal.models.contacts import SHUFFLE_SQL


class DialOrder(StrEnum):
    DUE = "due"
    PRIORITY = "priority"
    NEWEST = "newest"
    RANDOM = "random"


DIAL_ORDER_LABELS = {
    DialOrder.DUE: "Oldest due first",
    DialOrder.PRIORITY: "Highest priority first, then oldest due",
    DialOrder.NEWEST: "Newest contacts first",
    DialOrder.RANDOM: "Random (a fixed shuffle)",
}
PENDING_SQL = "contacts.request_state = 0"
CALLBACK_SQL = "contacts.request_state = 0 AND contacts.callback_at IS NOT NULL"
SHUFFLE = literal_column(SHUFFLE_SQL.replace("id", "contacts.id"))


def check_dial_order(value: Any) -> str | None:
    """Validator for the campaign field: one of the four names, or None."""
    if value is None:
        return None
    text_value = str(value).strip().lower()
    if text_value not in DialOrder.__members__.values():
        raise ValueError("must be one of " + ", ".join(o.value for o in DialOrder))
    return text_value


@dataclass(frozen=True)
class Ordering:
    """An ORDER BY, the key columns it sorts on, and the keyset step past a row."""

    name: str
    keys: tuple[ColumnElement, ...]
    after: Callable[[Any], ColumnElement]
    where: tuple[ColumnElement, ...] = ()

    def order_by(self) -> list[ColumnElement]:
        return list(self.keys)


def _k(row: Any, n: int) -> Any:
    return getattr(row, f"order_key{n}")


def _due_after(row: Any) -> ColumnElement:
    due, cid = _k(row, 0), _k(row, 1)
    return (Contact.dial_time > due) | ((Contact.dial_time == due) & (Contact.id > cid))


def _priority_after(row: Any) -> ColumnElement:
    prio, due, cid = _k(row, 0), _k(row, 1), _k(row, 2)
    return (
        (Contact.priority < prio)
        | ((Contact.priority == prio) & (Contact.dial_time > due))
        | ((Contact.priority == prio) & (Contact.dial_time == due) & (Contact.id > cid))
    )


def _shuffle_after(row: Any) -> ColumnElement:
    key, cid = _k(row, 0), _k(row, 1)
    return (SHUFFLE > key) | ((SHUFFLE == key) & (Contact.id > cid))


def _callback_after(row: Any) -> ColumnElement:
    at, cid = _k(row, 0), _k(row, 1)
    return (Contact.callback_at > at) | (
        (Contact.callback_at == at) & (Contact.id > cid)
    )


ORDERINGS: dict[str, Ordering] = {
    DialOrder.DUE: Ordering("due", (Contact.dial_time, Contact.id), _due_after),
    DialOrder.PRIORITY: Ordering(
        "priority",
        (Contact.priority.desc(), Contact.dial_time, Contact.id),
        _priority_after,
        (text(PENDING_SQL),),
    ),
    DialOrder.NEWEST: Ordering(
        "newest",
        (Contact.id.desc(),),
        lambda row: Contact.id < _k(row, 0),
        (text(PENDING_SQL),),
    ),
    DialOrder.RANDOM: Ordering(
        "random", (SHUFFLE, Contact.id), _shuffle_after, (text(PENDING_SQL),)
    ),
}
CALLBACKS = Ordering(
    "callback",
    (Contact.callback_at, Contact.id),
    _callback_after,
    (text(CALLBACK_SQL),),
)


def ordering_for(name: str | None) -> Ordering:
    return ORDERINGS.get(name or DialOrder.DUE, ORDERINGS[DialOrder.DUE])


def _key_columns(ordering: Ordering) -> list[ColumnElement]:
    """The sort keys as labelled columns (desc() unwrapped): the keyset reads them."""
    plain = [k.element if isinstance(k, UnaryExpression) else k for k in ordering.keys]
    return [k.label(f"order_key{n}") for n, k in enumerate(plain)]


def sources(
    base: Select,
    dial_order: str | None,
    now: datetime,
    limit: int,
    keep: ColumnElement | None = None,
) -> list[tuple[Select, Ordering]]:
    """The claim's candidate queries in turn: due callbacks, then the campaign order.

    `base` selects pending, due, dialable contacts of one campaign; `keep` is the
    campaign's contact filter, which a customer's own callback request overrides.
    """
    ordering = ordering_for(dial_order)
    callback_query = (
        base.add_columns(*_key_columns(CALLBACKS))
        .where(*CALLBACKS.where, Contact.callback_at <= now)
        .order_by(*CALLBACKS.order_by())
        .limit(limit)
    )
    ordered = base.add_columns(*_key_columns(ordering)).where(
        *ordering.where, Contact.callback_at.is_(None)
    )
    if keep is not None:
        ordered = ordered.where(keep)
    ordered = ordered.order_by(*ordering.order_by()).limit(limit)
    return [(callback_query, CALLBACKS), (ordered, ordering)]
