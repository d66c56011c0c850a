"""Schemathesis over the app's own OpenAPI document: for every /v1 operation, generated requests are never
answered with a 5xx, and every answer is one the document lists (status, content type, body schema).

The app is called in process through its WSGI handler, inside the test's transaction, with an admin key.
Each operation gets a little realistic data, and generated path, query and body values are sometimes
swapped for the seeded identifiers, so that requests reach real rows and not only 404s. Generation is
derandomized: a run is the same run every time.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi import checks

from phoenix_annot.accounts.services import api_key_create
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.datasets.services import dataset_upload
from phoenix_annot.wsgi import application
from tests.factories import (
    AnnotationConfigFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceAnnotationFactory,
    UserFactory,
)

CHECKS = [
    not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
]
CONFIG = schemathesis.Config.from_dict(
    {
        "seed": 20260101,
        "generation": {"deterministic": True, "database": "none"},
        "phases": {"stateful": {"enabled": False}},
    }
)
schema = schemathesis.openapi.from_wsgi("/openapi.json", application, config=CONFIG)
# OTLP protobuf bodies are generated as bytes and sent as they are.
schemathesis.serializer.alias("application/x-protobuf", "application/octet-stream")


@dataclass(frozen=True)
class Seeded:
    """The seeded rows' identifiers, by the kind of row a parameter names."""

    auth: str
    project: list[str]
    span: list[str]
    trace: list[str]
    config: list[str]  # a name first, then GlobalIDs
    dataset: list[str]
    version: list[str]


# The hooks below run while Hypothesis generates, where fixtures cannot reach.
SEEDED: list[Seeded] = []


@pytest.fixture
def seeded(db) -> Iterator[Seeded]:
    span = SpanFactory(trace__project__name="p")
    child = SpanFactory(trace=span.trace, parent_id=span.span_id, span_kind="RETRIEVER", name="retrieve")
    SpanAnnotationFactory(span=span)
    SpanAnnotationFactory(span=child, name="relevance", label=None, score=0.25, annotator_kind="LLM")
    TraceAnnotationFactory(trace=span.trace)
    config = AnnotationConfigFactory(name="correctness")
    upload = dataset_upload(
        action="create",
        name="qa",
        description="Questions and answers",
        inputs=[{"question": "Capital of France?"}, {"messages": [{"role": "user", "content": "Hi"}]}],
        outputs=[{"answer": "Paris"}, {"messages": [{"role": "assistant", "content": "Hello"}]}],
        splits=["train", None],
        user=None,
    )
    _key, raw_key = api_key_create(user=UserFactory(role="ADMIN"), name="fuzz")
    values = Seeded(
        auth=f"Bearer {raw_key}",
        project=["p", to_global_id("Project", span.project.pk)],
        span=[span.span_id, child.span_id],
        trace=[span.trace.trace_id],
        config=[config.name, to_global_id("CategoricalAnnotationConfig", config.pk)],
        dataset=[to_global_id("Dataset", upload.dataset.pk)],
        version=[to_global_id("DatasetVersion", upload.version.pk)],
    )
    SEEDED.append(values)
    yield values
    SEEDED.remove(values)


@pytest.fixture
def in_process_requests() -> Iterator[None]:
    """Keep the test's transaction across requests, as Django's test client does: the request handler
    otherwise closes the connection when a request starts and when it finishes."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


# --- seeded identifiers in generated requests --------------------------------------------------------------

LEFT_OUT = object()
QUERY_KINDS = {"span_ids": "span", "trace_ids": "trace", "span_id": "span", "trace_id": "trace"}
QUERY_KINDS |= {"version_id": "version", "project_name": "project", "parent_id": "span"}
QUERY_LISTS = {"span_ids", "trace_ids", "span_id", "trace_id"}
BODY_KINDS = {"span_id": "span", "trace_id": "trace", "annotation_config_ids": "config"}
BODY_LISTS = {"annotation_config_ids"}
PATH_PREFIXES = {"/v1/projects/": "project", "/v1/annotation_configs/": "config", "/v1/spans/": "span"}


def path_kinds(path: str) -> dict[str, str]:
    """The kind of row each path parameter of `path` names."""
    kinds = {"dataset_id": "dataset", "dataset_identifier": "dataset", "config_identifier": "config"}
    for prefix, kind in PATH_PREFIXES.items():
        if path.startswith(prefix):
            kinds["identifier"] = kind
    return kinds


def either(kind: str, generated: Any, *, as_list: bool) -> st.SearchStrategy[Any]:
    """The generated value, or a seeded identifier of `kind`."""
    values = getattr(SEEDED[-1], kind)
    if kind == "config" and as_list:
        values = values[1:]  # lists of configs take GlobalIDs, not names
    return st.one_of(st.just(generated), st.sampled_from(values).map(lambda v: [v] if as_list else v))


def swapped(
    values: dict[str, Any] | None,
    kinds: dict[str, str],
    *,
    lists: set[str] = frozenset(),
    declared: set[str] = frozenset(),
) -> st.SearchStrategy[Any]:
    """`values` with each one that names a kind of row sometimes swapped for a seeded identifier, and each
    `declared` one sometimes added when generation left it out."""
    names = [name for name in kinds if name in (values or {}) or name in declared]
    if not SEEDED or not names:
        return st.just(values)
    choices = {
        name: either(kinds[name], (values or {}).get(name, LEFT_OUT), as_list=name in lists) for name in names
    }
    return st.fixed_dictionaries(choices).map(
        lambda chosen: {**(values or {}), **{k: v for k, v in chosen.items() if v is not LEFT_OUT}}
    )


def swapped_body(body: Any) -> st.SearchStrategy[Any]:
    """Bodies name rows at the top, in a `data` object, or in the items of a `data` list."""

    def swap(values: Any) -> st.SearchStrategy[Any]:
        return swapped(values, BODY_KINDS, lists=BODY_LISTS) if isinstance(values, dict) else st.just(values)

    data = body.get("data") if isinstance(body, dict) else None
    if isinstance(data, list):
        return st.tuples(swap(body), *map(swap, data)).map(lambda t: {**t[0], "data": list(t[1:])})
    if isinstance(data, dict):
        return st.tuples(swap(body), swap(data)).map(lambda t: {**t[0], "data": t[1]})
    return swap(body)


@schema.hook
def flatmap_path_parameters(context: schemathesis.HookContext, path_parameters: dict[str, Any]):
    return swapped(path_parameters, path_kinds(context.operation.path))


@schema.hook
def flatmap_query(context: schemathesis.HookContext, query: dict[str, Any] | None):
    declared = {name for name in QUERY_KINDS if name in context.operation.query}
    return swapped(query, QUERY_KINDS, lists=QUERY_LISTS, declared=declared)


@schema.hook
def flatmap_body(context: schemathesis.HookContext, body: Any):
    return swapped_body(body)


# --- the test ------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("in_process_requests")
@schema.parametrize()
@settings(
    max_examples=25,
    deadline=None,
    derandomize=True,
    database=None,
    # Generated bodies are large and often filtered; speed is bounded by max_examples instead.
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(case: schemathesis.Case, seeded: Seeded):
    case.call_and_validate(headers={"Authorization": seeded.auth}, checks=CHECKS)
