"""Look-ups over a template: where each item and section lives."""

from __future__ import annotations

from typing import NamedTuple

from checklists.model import Item, Section, Template


class ItemRef(NamedTuple):
    section_index: int
    item_index: int
    order: int  # position of the item in document order
    section: Section
    item: Item

    @property
    def repeatable(self) -> bool:
        return self.section.repeat is not None


class TemplateIndex:
    """Items by key and sections by key (first occurrence wins; duplicates are a
    validation problem reported elsewhere)."""

    def __init__(self, template: Template) -> None:
        self.template = template
        self.items: dict[str, ItemRef] = {}
        self.sections: dict[str, tuple[int, Section]] = {}
        order = 0
        for si, section in enumerate(template.sections):
            self.sections.setdefault(section.key, (si, section))
            for ii, item in enumerate(section.items):
                self.items.setdefault(item.key, ItemRef(si, ii, order, section, item))
                order += 1
