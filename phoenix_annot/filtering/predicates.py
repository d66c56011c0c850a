"""Span predicates that may look inside the span's annotations, shared by the filter language and SpanFilter.

A predicate about annotations is kept as a condition on annotation rows until it must meet something else,
and only then becomes `EXISTS (an annotation row of the span meeting it)`. So conditions on one annotation
name combined with and / or / not hold for ONE annotation (Phoenix joins each name once), and a span with
several annotators is never repeated. A span without any annotation of the name is judged on an all-NULL
row, as Phoenix's outer join does: that is how `annotations['q'].label is None` matches unannotated spans.
"""

import operator
from collections.abc import Sequence
from dataclasses import dataclass
from functools import reduce
from typing import Literal

from django.db.models import Exists, OuterRef, Q, QuerySet

from phoenix_annot.annotations.models import (
    NOTE_NAME,
    AnnotationBase,
    SessionAnnotation,
    SpanAnnotation,
    TraceAnnotation,
)

Connector = Literal["and", "or"]
Target = Literal["span", "trace", "session"]
# SQL's three-valued logic: None is "unknown", what comparing with NULL gives.
Truth = bool | None
# Per target: its annotations, their key to it, and how a span reaches it (its session through its trace;
# a span outside any session reaches none).
_TARGETS: dict[Target, tuple[type[AnnotationBase], str, str]] = {
    "span": (SpanAnnotation, "span", "pk"),
    "trace": (TraceAnnotation, "trace", "trace"),
    "session": (SessionAnnotation, "session", "trace__session"),
}


@dataclass(frozen=True)
class AnnotationScope:
    """The annotation rows a predicate looks at: the span's own, its trace's or its session's, of one name or
    of any. `outer` names the target in the outer query when that query is not over spans (the Sessions
    tab's is over sessions: "pk")."""

    target: Target
    name: str | None
    outer: str | None = None

    def rows(self) -> QuerySet:
        model, key, from_span = _TARGETS[self.target]
        rows = model.objects.filter(**{key: OuterRef(self.outer or from_span)})
        # Always true, but it makes (target, name, identifier) the best index for SQLite's planner, which
        # lacking statistics picks (name, score) for `score > x` and so reads every row of the name per span.
        rows = rows.filter(identifier__gte="")
        # Notes are annotations in storage only; "any annotation" never means a note.
        return rows.filter(name=self.name) if self.name is not None else rows.exclude(name=NOTE_NAME)


@dataclass(frozen=True)
class Predicate:
    """`q` over spans, or over the annotation rows of `scope` when it is set."""

    q: Q
    scope: AnnotationScope | None = None
    # What q gives on the all-NULL row that stands for "no annotation in scope".
    when_missing: Truth = None
    # What an `and` / `or` across scopes was made of, so that `not` can reach each part (see negated).
    parts: tuple["Predicate", ...] = ()
    connector: Connector = "and"

    def span_q(self) -> Q:
        """This predicate as a condition on spans."""
        if self.scope is None:
            return self.q
        rows = self.scope.rows()
        found = Q(Exists(rows.filter(self.q)))
        return found | ~Q(Exists(rows)) if self.when_missing is True else found

    def negated(self) -> "Predicate":
        """`not` this: per annotation row when scoped (Phoenix puts the whole condition inside its EXISTS).

        Across scopes `not` goes down to the parts, `not (a and b)` being `not a or not b`: inside Phoenix's
        one EXISTS each part is judged on the same annotation rows, so `not` never spans an EXISTS.
        """
        if self.parts:
            flipped: Connector = "or" if self.connector == "and" else "and"
            return combine([part.negated() for part in self.parts], flipped)
        when_missing = None if self.when_missing is None else not self.when_missing
        return Predicate(~self.q, self.scope, when_missing)


def combine(predicates: Sequence["Predicate"], connector: Connector) -> Predicate:
    """`p1 and p2 ...` / `p1 or p2 ...`; kept per annotation row when all look at the same annotations."""
    join = operator.and_ if connector == "and" else operator.or_
    scopes = {predicate.scope for predicate in predicates}
    if len(scopes) == 1 and None not in scopes:
        truths = [predicate.when_missing for predicate in predicates]
        return Predicate(
            reduce(join, (predicate.q for predicate in predicates)),
            scopes.pop(),
            _all_true(truths) if connector == "and" else _any_true(truths),
        )
    return Predicate(
        reduce(join, (predicate.span_q() for predicate in predicates)),
        parts=tuple(predicates),
        connector=connector,
    )


def _all_true(truths: Sequence[Truth]) -> Truth:
    if False in truths:
        return False
    return None if None in truths else True


def _any_true(truths: Sequence[Truth]) -> Truth:
    if True in truths:
        return True
    return None if None in truths else False
