"""Spans stored before sessions existed get them: each trace joins the session its spans' `session.id`
names (a root span's first), sessions are created in the project of their first trace, and LLM spans get
the `llm_cost_total` column read from their attributes. Then every session's roll-ups are computed.

Spans are read a thousand at a time in primary-key order, only those with a `session` or `llm.cost`
attribute and only the columns needed, so memory stays flat. Running it twice changes nothing the second
time (a trace keeps the session it has).

The roll-ups come from `services.session_rollups_refresh`, the function ingestion runs, rather than a
copy of it: it reads and writes only columns that exist from this migration on.
"""

from typing import Any

from django.db import migrations

from phoenix_annot.tracing.models import session_id_from_attribute

BATCH_SIZE = 1000
MAX_COST = 1e12


def backfill(apps: Any, schema_editor: Any) -> None:
    from phoenix_annot.tracing.services import session_rollups_refresh

    alias = schema_editor.connection.alias
    Span = apps.get_model("tracing", "Span")
    _backfill_costs(Span.objects.using(alias))
    session_pks = _attach_traces(
        Span.objects.using(alias),
        apps.get_model("tracing", "Trace").objects.using(alias),
        apps.get_model("tracing", "Session").objects.using(alias),
    )
    for start in range(0, len(session_pks), BATCH_SIZE):
        session_rollups_refresh(session_pks=session_pks[start : start + BATCH_SIZE])


def _backfill_costs(spans: Any) -> None:
    candidates = spans.filter(span_kind="LLM", attributes__llm__cost__has_key="total").order_by("pk")
    last_pk = 0
    while batch := list(
        candidates.filter(pk__gt=last_pk).values_list("pk", "attributes__llm__cost__total")[:BATCH_SIZE]
    ):
        last_pk = batch[-1][0]
        for pk, cost in batch:
            if isinstance(cost, int | float) and not isinstance(cost, bool) and abs(cost) <= MAX_COST:
                spans.filter(pk=pk).update(llm_cost_total=float(cost))


def _attach_traces(spans: Any, traces: Any, sessions: Any) -> list[int]:
    candidates = spans.filter(attributes__session__has_key="id").order_by("pk")
    touched: set[int] = set()
    last_pk = 0
    while batch := list(
        candidates.filter(pk__gt=last_pk).values_list(
            "pk", "trace_id", "parent_id", "attributes__session__id"
        )[:BATCH_SIZE]
    ):
        last_pk = batch[-1][0]
        named: dict[int, str] = {}
        for _pk, trace_pk, parent_id, value in batch:
            session_id = session_id_from_attribute(value)
            if session_id is not None and (parent_id is None or trace_pk not in named):
                named[trace_pk] = session_id
        waiting = dict(traces.filter(pk__in=named, session__isnull=True).values_list("pk", "project_id"))
        wanted = {named[pk] for pk in waiting}
        stored = dict(sessions.filter(session_id__in=wanted).values_list("session_id", "pk"))
        for trace_pk in sorted(waiting):
            session_id = named[trace_pk]
            if session_id not in stored:
                first = traces.get(pk=trace_pk)
                stored[session_id] = sessions.create(
                    project_id=waiting[trace_pk],
                    session_id=session_id,
                    start_time=first.start_time,
                    end_time=first.end_time,
                ).pk
            traces.filter(pk=trace_pk).update(session_id=stored[session_id])
            touched.add(stored[session_id])
    return sorted(touched)


class Migration(migrations.Migration):
    dependencies = [
        ("tracing", "0005_session"),
        # The roll-ups may delete an empty session, whose annotations' table must exist by then.
        ("annotations", "0005_session_and_document_annotations"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
