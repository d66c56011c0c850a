"""Queue rules: a saved span filter whose matches become a queue's items, those already stored when the rule
is saved (the backfill) and those ingested afterwards (`queue_rules_apply`, called by ingestion).

A rule may sample a share of its matches. The choice hashes the id of what would become the item (the span
id, the trace id or the session id) on the database, so the backfill and every later ingest choose the same
ones, and a rule applied twice adds nothing new. Sampling compares the first hex digits of the id's MD5
(Django's MD5 function: PostgreSQL's own, a registered function on SQLite) with the percentage's share of
them; fixed-width lowercase hex compares as text the way it does as a number.
"""

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, TypedDict, Unpack

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import BigIntegerField, Max, Min, QuerySet
from django.db.models.expressions import RawSQL
from django.db.models.functions import MD5, Substr
from django.http import QueryDict

from phoenix_annot.accounts.models import User
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.tracing.models import Span

from .models import MAX_SAMPLING_PERCENT, AnnotationQueue, ItemKind, QueueRule
from .services import (
    ItemsAdded,
    ItemSource,
    item_source,
    items_insert,
    queue_items_add_matching,
    span_targets,
)

logger = logging.getLogger(__name__)

# The id whose hash decides whether a span's item is in a rule's sample.
SAMPLE_KEYS = {
    ItemKind.SPAN: "span_id",
    ItemKind.TRACE: "trace__trace_id",
    ItemKind.SESSION: "trace__session__session_id",
}
SAMPLE_HEX_DIGITS = 4
SAMPLE_BUCKETS = 16**SAMPLE_HEX_DIGITS


@dataclass(frozen=True)
class RuleAuthor:
    """What SpanFilter reads of a request, its user: `labelled_by=me` in a rule means whoever saved it."""

    user: User | AnonymousUser


def span_filter_data(raw: Mapping[str, Any]) -> QueryDict:
    """SpanFilter parameters given as JSON (a list for a repeated one) as the query string carries them."""
    data = QueryDict(mutable=True)
    for name, value in raw.items():
        data.setlist(name, [_query_text(item) for item in (value if isinstance(value, list) else [value])])
    return data


def _query_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return value if isinstance(value, str) else json.dumps(value)


def filter_problems(filterset: SpanFilter, raw: Mapping[str, Any]) -> dict[str, list[str]]:
    """What is wrong with these SpanFilter parameters, by parameter: unknown names and refused values."""
    problems = {
        name: ["Not a span filter parameter."] for name in sorted(set(raw) - set(SpanFilter.base_filters))
    }
    if not filterset.is_valid():
        problems.update(
            (name, [" ".join(error.messages) for error in found])
            for name, found in filterset.form.errors.as_data().items()
        )
    return problems


def rule_filterset(*, project_pk: int, filter: Mapping[str, Any], user: User | None) -> SpanFilter:
    """The rule's filter over the project's spans, read as the Spans tab reads it: a name in the expression
    that is no column is an error (it would match nothing, for ever)."""
    filterset = SpanFilter(
        span_filter_data(filter),
        queryset=Span.objects.filter(project_id=project_pk),
        request=RuleAuthor(user or AnonymousUser()),
    )
    filterset.refuse_unknown_columns()
    return filterset


def rule_spans(rule: QueueRule, *, project_pk: int) -> QuerySet[Span]:
    """The spans of the project the rule keeps: its filter's matches, in its sample. A filter SpanFilter
    refuses is a ValidationError: its `qs` would drop the refused parameters and match more."""
    if not isinstance(rule.filter, dict):
        raise ValidationError({"filter": "An object of span filter parameters."})
    filterset = rule_filterset(project_pk=project_pk, filter=rule.filter, user=rule.user)
    problems = filter_problems(filterset, rule.filter)
    if problems:
        raise ValidationError(
            {"filter": [f"{name}: {' '.join(messages)}" for name, messages in problems.items()]}
        )
    spans = filterset.qs
    percent = rule.sampling_percent
    if percent is None or percent == MAX_SAMPLING_PERCENT:
        return spans
    threshold = f"{round(percent * SAMPLE_BUCKETS / 100):0{SAMPLE_HEX_DIGITS}x}"
    return spans.alias(sample_bucket=Substr(MD5(SAMPLE_KEYS[rule.kind]), 1, SAMPLE_HEX_DIGITS)).filter(
        sample_bucket__lt=threshold
    )


@dataclass(frozen=True)
class RuleSaved:
    rule: QueueRule
    backfill: ItemsAdded | None  # None when the rule is disabled: it added nothing


class RuleFields(TypedDict, total=False):
    kind: str
    filter: dict[str, Any]
    sampling_percent: int | None
    enabled: bool


def queue_rule_create(
    *, queue: AnnotationQueue, user: User | None, **fields: Unpack[RuleFields]
) -> RuleSaved:
    """Save a rule and, when it is enabled, add the items of every stored span it matches now."""
    return _rule_save(QueueRule(queue=queue, user=user), fields)


def queue_rule_update(*, rule: QueueRule, **fields: Unpack[RuleFields]) -> RuleSaved:
    """Change the given fields; an enabled rule then adds the items of every stored span it matches (those
    it added before stay, as do those a narrower filter or sample would not add now)."""
    return _rule_save(rule, fields)


def queue_rule_delete(*, rule: QueueRule) -> None:
    """Delete the rule; the items it added stay in the queue."""
    rule.delete()


def _rule_save(rule: QueueRule, fields: RuleFields) -> RuleSaved:
    for name, value in fields.items():
        setattr(rule, name, value)
    rule.full_clean(exclude=["queue", "user"], validate_unique=False, validate_constraints=False)
    queue = rule.queue
    spans = rule_spans(rule, project_pk=queue.project_id)
    with transaction.atomic():
        rule.save()
        if not rule.enabled:
            return RuleSaved(rule, None)
        return RuleSaved(
            rule, queue_items_add_matching(queue=queue, spans=spans, kind=rule.kind, user=rule.user)
        )


def queue_rules_apply(*, project_pks: Iterable[int], span_ids: Sequence[str]) -> None:
    """Add to their queues the items that the enabled rules of these projects make of these spans, just
    stored: one query for the rules, one for the range of the spans' primary keys and one INSERT ... SELECT
    for all the rules, whatever the number of spans (their ids are one parameter, a JSON array).

    Called by ingestion inside its transaction. A rule that fails is logged and adds nothing; the spans are
    stored all the same (the inserts run in a savepoint, rolled back alone).
    """
    if not span_ids:
        return
    rules = list(QueueRule.objects.enabled_in(project_pks).select_related("queue", "user"))
    if not rules:
        return
    new = json.dumps(list(span_ids))
    try:
        with transaction.atomic():
            # Each rule reads the new spans by their primary key's range, in order, rather than one span_id
            # at a time: several times faster for a few rules than the span_id index alone.
            bounds = (
                Span.objects.filter(span_id__in=_json_array_values([new]))
                .order_by()
                .aggregate(low=Min("pk"), high=Max("pk"))
            )
            given = {NEW_SPAN_IDS: new, LOWEST_PK: bounds["low"], HIGHEST_PK: bounds["high"]}
            sources = [source for rule in rules if (source := _rule_source(rule, given))]
            if sources:
                items_insert(sources)
    except Exception:
        # Whatever went wrong (a filter the code no longer reads, a database error), ingestion goes on.
        logger.exception("Queue rules %s failed on %d new spans", [rule.pk for rule in rules], len(span_ids))


# Where a compiled rule's SELECT takes the spans just stored: their ids as one JSON array, and the range of
# their primary keys (which also holds others, the span ids keep out).
NEW_SPAN_IDS = "\x00new span ids"
LOWEST_PK = "\x00lowest pk"
HIGHEST_PK = "\x00highest pk"
# What a rule's SELECT is made of -> the SELECT, compiled. Building a SpanFilter and compiling its query
# costs more than the INSERT it feeds: each process does it once per version of a rule. The key holds
# everything the SELECT depends on, read afresh with the rules by every request, so a change is never missed.
_compiled: dict[tuple[Any, ...], ItemSource | None] = {}


def _rule_source(rule: QueueRule, given: dict[str, Any]) -> ItemSource | None:
    """The rule's compiled SELECT given the new spans; None when its filter can match nothing."""
    project_pk = rule.queue.project_id
    key = (
        rule.pk,
        rule.kind,
        json.dumps(rule.filter, sort_keys=True),
        rule.sampling_percent,
        rule.user_id,
        project_pk,
    )
    if key not in _compiled:
        spans = rule_spans(rule, project_pk=project_pk).filter(
            pk__gte=RawSQL("%s", [LOWEST_PK], output_field=BigIntegerField()),
            pk__lte=RawSQL("%s", [HIGHEST_PK], output_field=BigIntegerField()),
            span_id__in=_json_array_values([NEW_SPAN_IDS]),
        )
        targets = span_targets(project_pk=project_pk, spans=spans, kind=rule.kind)
        # One entry a rule: its earlier versions go.
        for earlier in [cached for cached in _compiled if cached[0] == rule.pk]:
            del _compiled[earlier]
        _compiled[key] = item_source(rule.queue_id, rule.kind, targets, rule.user_id)
    source = _compiled[key]
    if source is None:
        return None
    sql, params = source.select
    values = [given.get(param, param) if isinstance(param, str) else param for param in params]
    return replace(source, select=(sql, values))


def _json_array_values(params: list[str]) -> RawSQL:
    """The strings of a JSON array given as a parameter, as a subquery of the database's JSON function."""
    if connection.vendor == "postgresql":
        return RawSQL("SELECT jsonb_array_elements_text(%s::jsonb)", params)
    return RawSQL("SELECT value FROM json_each(%s)", params)
