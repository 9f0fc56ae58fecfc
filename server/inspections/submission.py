"""Submitting an inspection: judge the merged answers with its template version,
freeze it, and open one rectification ticket per failed item."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import select

from checklists.answers import Answer, Answers, InstanceAnswers
from checklists.judge import judge
from checklists.judgement import Judgement
from checklists.model import Responsible, Severity
from server.inspections.models import Inspection, ItemResult
from server.inspections.rules import FROZEN_STATUSES
from server.inspections.templating import template_index
from sync.errors import Rejected
from sync.registry import ApplyContext


async def answers_of(ctx: ApplyContext, insp: Inspection) -> tuple[Answers, dict[tuple[str, str, str], ItemResult]]:
    rows = (
        await ctx.db.scalars(
            select(ItemResult).where(ItemResult.inspection_id == insp.id, ItemResult.deleted.is_(False))
        )
    ).all()
    plain: dict[str, Answer] = {}
    instances: dict[str, dict[str, InstanceAnswers]] = {}
    by_address = {}
    for r in rows:
        answer = Answer(
            value=r.value,
            note=r.note or "",
            photos=[str(p) for p in r.photos or []],
            severity=cast(Severity | None, r.severity),
            responsible=cast(Responsible | None, r.responsible),
        )
        by_address[(r.section_key, r.instance_id, r.item_key)] = r
        if r.instance_id:
            inst = instances.setdefault(r.section_key, {}).setdefault(
                r.instance_id, InstanceAnswers(id=r.instance_id, label=r.instance_label or "", answers={})
            )
            inst.answers[r.item_key] = answer
        else:
            plain[r.item_key] = answer
    return Answers(answers=plain, instances={k: list(v.values()) for k, v in instances.items()}), by_address


async def judge_inspection(ctx: ApplyContext, insp: Inspection) -> tuple[Judgement, dict[Any, ItemResult]]:
    index = await template_index(ctx.db, insp.template_version_id)
    if index is None:
        raise Rejected("the inspection's template version is unknown", code="invalid")
    answers, by_address = await answers_of(ctx, insp)
    return judge(index.template, answers), by_address


async def submit_inspection(ctx: ApplyContext, insp: Inspection, fields: dict[str, Any]) -> None:
    from server.tickets.services import open_tickets_for

    if insp.status in FROZEN_STATUSES:
        return  # submitted already (by this or another device): nothing more to do
    judgement, by_address = await judge_inspection(ctx, insp)
    if not judgement.complete:
        missing = "; ".join(f"{m.path}: {m.reason}" for m in judgement.missing[:20])
        raise Rejected(f"the inspection is not complete: {missing}", code="incomplete")
    insp.status = "submitted"
    insp.submitted_at = ctx.now
    insp.submitted_by = ctx.actor.user_id
    await ctx.db.flush()
    await open_tickets_for(ctx, insp, (judgement, by_address))
