"""Timestamps come back from the database exactly as written, aware and in UTC; on PostgreSQL they are
parsed by psycopg's C loader rather than Django's Python one (three times slower reads of timestamp-heavy
lists such as /v1 annotation pages)."""

from datetime import UTC, datetime, timedelta, timezone

import pytest
from django.db import connection
from psycopg.pq import Format

from phoenix_annot.annotations.models import SpanAnnotation
from tests.factories import SpanAnnotationFactory

pytestmark = pytest.mark.django_db

ON_POSTGRESQL = pytest.mark.skipif(connection.vendor != "postgresql", reason="a PostgreSQL loader")


def test_a_timestamp_reads_back_as_the_same_instant_in_utc_with_its_microseconds():
    written = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=5)))
    annotation = SpanAnnotationFactory()
    SpanAnnotation.objects.filter(pk=annotation.pk).update(created_at=written)

    read = SpanAnnotation.objects.values_list("created_at", flat=True).get(pk=annotation.pk)

    assert read == written
    assert read.tzinfo is UTC
    assert read.isoformat() == "2026-01-01T22:04:05.678901+00:00"


@ON_POSTGRESQL
def test_postgresql_connections_parse_timestamps_with_psycopgs_c_loader():
    with connection.cursor() as cursor:
        adapters = cursor.cursor.adapters
        loader = adapters.get_loader(adapters.types["timestamptz"].oid, Format.TEXT)
        cursor.execute("SELECT '2026-06-30 23:59:59.5-02:30'::timestamptz, NULL::timestamptz")
        instant, missing = cursor.fetchone()

    assert loader.__name__ == "CTimestamptzLoader"
    assert instant == datetime(2026, 7, 1, 2, 29, 59, 500000, tzinfo=UTC)
    assert instant.tzinfo is UTC
    assert missing is None
