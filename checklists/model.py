"""The checklist template model: msgspec Structs, immutable, unknown fields forbidden.

A template is a list of sections; a section holds items; an item is one of the
kinds below, told apart by its ``"kind"`` tag. Fields left at their default are
omitted when encoded, so the JSON files stay short and a new optional field does not
change the content hash of existing templates. Rules that types cannot express live
in ``validate.py``.
"""

from __future__ import annotations

import re
from typing import Literal, TypeAlias, get_args

import msgspec

from checklists.conditions import Condition

TemplateKind: TypeAlias = Literal[
    "patrol", "unit_inspection", "takeover_acceptance", "vacant_unit", "acceptance_summary"
]
Discipline: TypeAlias = Literal["landscaping", "civil", "plumbing_heating", "electrical"]
Severity: TypeAlias = Literal["general", "important", "serious"]
Responsible: TypeAlias = Literal["developer", "contractor", "engineering", "cleaning", "greening", "security"]

#: Template, section, item, choice, option and declared-instance keys.
KEY_RE = re.compile(r"[a-z][a-z0-9_]{0,63}")  # use fullmatch

TEMPLATE_KINDS: tuple[TemplateKind, ...] = get_args(TemplateKind)
DISCIPLINES: tuple[Discipline, ...] = get_args(Discipline)
SEVERITIES: tuple[Severity, ...] = get_args(Severity)
RESPONSIBLES: tuple[Responsible, ...] = get_args(Responsible)


class _Base(msgspec.Struct, frozen=True, forbid_unknown_fields=True, omit_defaults=True, kw_only=True):
    pass


class Text(_Base, frozen=True, kw_only=True):
    """A bilingual text: Chinese first, English beside it."""

    zh: str
    en: str = ""


class Choice(_Base, frozen=True, kw_only=True):
    """One choice of a single_choice / multi_choice item. Choosing a choice with
    ``fails`` makes the item fail."""

    key: str
    label: Text
    fails: bool = False


class Option(_Base, frozen=True, kw_only=True):
    """One place a location item can name (a room, an area)."""

    key: str
    label: Text


class _Item(_Base, frozen=True, kw_only=True, tag_field="kind"):
    """Fields every item kind has. ``photo_on_fail`` / ``note_on_fail`` /
    ``severity`` / ``responsible`` matter only for kinds that can fail."""

    key: str
    label: Text
    guidance: Text | None = None
    required: bool = True
    photo_on_fail: bool = False
    note_on_fail: bool = False
    severity: Severity = "general"
    responsible: Responsible | None = None
    standard: str | None = None
    visible_if: Condition | None = None


class PassFailItem(_Item, frozen=True, kw_only=True, tag="pass_fail"):
    """Answer ``"pass"`` or ``"fail"`` (or ``"na"`` when ``allow_na``)."""

    allow_na: bool = False


class NumberItem(_Item, frozen=True, kw_only=True, tag="number"):
    """A measured number; outside ``[min, max]`` (inclusive) it fails. With
    neither bound the number is recorded but never judged."""

    unit: str = ""
    min: float | None = None
    max: float | None = None


class TextItem(_Item, frozen=True, kw_only=True, tag="text"):
    """Free text; never judged."""

    multiline: bool = False


class SingleChoiceItem(_Item, frozen=True, kw_only=True, tag="single_choice"):
    """One choice key; fails when the chosen choice ``fails``."""

    choices: tuple[Choice, ...]


class MultiChoiceItem(_Item, frozen=True, kw_only=True, tag="multi_choice"):
    """A list of distinct choice keys; fails when any chosen choice ``fails``."""

    choices: tuple[Choice, ...]


class PhotoItem(_Item, frozen=True, kw_only=True, tag="photo"):
    """Photos only (ids in the answer's ``photos``); never judged."""

    min_photos: int = 1


class SignatureItem(_Item, frozen=True, kw_only=True, tag="signature"):
    """A signature image (its media id in ``photos``); ``value`` may hold the
    signer's printed name. Never judged."""


class LocationItem(_Item, frozen=True, kw_only=True, tag="location"):
    """A room / area picked from ``options`` (or typed, when ``allow_other``)."""

    options: tuple[Option, ...]
    allow_other: bool = False


class DateItem(_Item, frozen=True, kw_only=True, tag="date"):
    """A calendar date written ``YYYY-MM-DD``; never judged."""


Item: TypeAlias = (
    PassFailItem
    | NumberItem
    | TextItem
    | SingleChoiceItem
    | MultiChoiceItem
    | PhotoItem
    | SignatureItem
    | LocationItem
    | DateItem
)
ITEM_TYPES: tuple[type[_Item], ...] = (
    PassFailItem,
    NumberItem,
    TextItem,
    SingleChoiceItem,
    MultiChoiceItem,
    PhotoItem,
    SignatureItem,
    LocationItem,
    DateItem,
)
ITEM_KINDS: tuple[str, ...] = tuple(str(t.__struct_config__.tag) for t in ITEM_TYPES)


class Instance(_Base, frozen=True, kw_only=True):
    """A declared instance of a repeatable section (a room, a floor, a discipline)."""

    id: str
    label: Text


class Repeat(_Base, frozen=True, kw_only=True):
    """Makes a section repeatable: the declared ``instances`` are always part of the
    form; with ``allow_add`` the inspector adds more (free instances)."""

    instance_label: Text
    instances: tuple[Instance, ...] = ()
    allow_add: bool = False
    min_instances: int = 0
    max_instances: int | None = None


class Section(_Base, frozen=True, kw_only=True):
    key: str
    title: Text
    guidance: Text | None = None
    visible_if: Condition | None = None
    repeat: Repeat | None = None
    items: tuple[Item, ...]


class Template(_Base, frozen=True, kw_only=True):
    key: str
    kind: TemplateKind
    discipline: Discipline | None = None
    title: Text
    version: str
    basis: tuple[str, ...] = ()
    sections: tuple[Section, ...]


def item_kind(item: Item) -> str:
    """The ``kind`` tag of an item (``"pass_fail"``, ``"number"``, …)."""
    return str(type(item).__struct_config__.tag)


def can_fail(item: Item) -> bool:
    """Whether some answer to this item fails it (and so whether it is scored)."""
    if isinstance(item, PassFailItem):
        return True
    if isinstance(item, NumberItem):
        return item.min is not None or item.max is not None
    if isinstance(item, SingleChoiceItem | MultiChoiceItem):
        return any(c.fails for c in item.choices)
    return False


def count_items(template: Template) -> int:
    return sum(len(s.items) for s in template.sections)
