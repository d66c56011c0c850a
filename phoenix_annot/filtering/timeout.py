"""A time limit on the queries a filter runs, so that no filter holds a worker and a database connection for
longer than about FILTER_TIMEOUT_MS (PostgreSQL only: SQLite has no statement timeout, and serves demos)."""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import psycopg.errors
from django.conf import settings
from django.db import OperationalError, connection, transaction


class FilterTimeout(Exception):
    """A filter's query ran past the time limit and was cancelled; the message says what to do."""


@contextmanager
def filter_time_limit() -> Iterator[None]:
    """Run the block's queries under a statement timeout; raise FilterTimeout when one runs past it."""
    milliseconds = settings.FILTER_TIMEOUT_MS
    if connection.vendor != "postgresql" or not milliseconds:
        yield
        return
    stopped = FilterTimeout(
        f"The filter took longer than {milliseconds / 1000:g} s and was stopped. Narrow it (a time range,"
        " a span kind, fewer annotation or cumulative token terms) and try again."
    )
    deadline = time.monotonic() + milliseconds / 1000

    def guard(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        # The timeout bounds each statement; this bounds the block's statements together, to twice it.
        if time.monotonic() > deadline:
            raise stopped
        return execute(sql, params, many, context)

    try:
        # set_config(..., true) is SET LOCAL: it ends with the transaction, so the pooled connection
        # goes back to the next request without the limit.
        with transaction.atomic(), connection.execute_wrapper(guard):
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config('statement_timeout', %s, true)", [str(milliseconds)])
            yield
    except OperationalError as exc:
        if not isinstance(exc.__cause__, psycopg.errors.QueryCanceled):
            raise
        raise stopped from None
