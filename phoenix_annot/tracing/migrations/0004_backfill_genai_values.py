"""Spans stored before ingest read OpenTelemetry GenAI conversations get the input/output they now would.

Only spans with `gen_ai.*` attributes and an empty input or output column are read, a thousand at a time in
primary-key order (one pass over the table in all, memory flat); each batch is one UPDATE per changed row
inside the migration's transaction. Running it twice changes nothing the second time.
"""

from typing import Any

from django.db import migrations
from django.db.models import Q

from phoenix_annot.tracing.openinference import fill_genai_values

BATCH_SIZE = 1000
FIELDS = ("attributes", "input_value", "input_mime_type", "output_value", "output_mime_type")


def backfill(apps: Any, schema_editor: Any) -> None:
    Span = apps.get_model("tracing", "Span")
    candidates = (
        Span.objects.using(schema_editor.connection.alias)
        .filter(Q(input_value="") | Q(output_value=""), attributes__has_key="gen_ai")
        .only("pk", "events", *FIELDS)
        .order_by("pk")
    )
    last_pk = 0
    while batch := list(candidates.filter(pk__gt=last_pk)[:BATCH_SIZE]):
        last_pk = batch[-1].pk
        changed = [span for span in batch if _fill(span)]
        Span.objects.using(schema_editor.connection.alias).bulk_update(changed, FIELDS)


def _fill(span: Any) -> bool:
    input_value, output_value = fill_genai_values(span.attributes, span.events)
    if input_value and not span.input_value:
        span.input_value, span.input_mime_type = input_value
    if output_value and not span.output_value:
        span.output_value, span.output_mime_type = output_value
    return bool(input_value or output_value)


class Migration(migrations.Migration):
    dependencies = [
        ("tracing", "0003_span_sort_indexes"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop, elidable=True)]
