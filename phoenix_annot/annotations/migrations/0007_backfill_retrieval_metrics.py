"""Retriever spans annotated before retrieval metrics were stored get their metrics row.

The rows come from `retrieval.retrieval_metrics_refresh`, the function every document annotation write
runs, rather than a copy of it: it reads and writes only columns that exist from 0006 on.
"""

from typing import Any

from django.db import migrations

BATCH_SIZE = 1000


def backfill(apps: Any, schema_editor: Any) -> None:
    from phoenix_annot.annotations.retrieval import retrieval_metrics_refresh

    documents = apps.get_model("annotations", "DocumentAnnotation").objects.using(
        schema_editor.connection.alias
    )
    span_pks = sorted(set(documents.values_list("span_id", flat=True)))
    for start in range(0, len(span_pks), BATCH_SIZE):
        retrieval_metrics_refresh(span_pks=span_pks[start : start + BATCH_SIZE])


class Migration(migrations.Migration):
    dependencies = [("annotations", "0006_retrieval_metrics")]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
