"""Cursor paging of every /v1 list (PHOENIX_COMPAT.md §0.5), one table of endpoints, the same edge cases.

Pages are newest first; `next_cursor` is the first row not returned and a cursor is inclusive. Each list
also pins its query count for a full page, so a lazy relation shows up here as a failure.
"""

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from phoenix_annot.annotations.models import AnnotationConfig
from phoenix_annot.core.globalid import from_global_id, to_global_id
from phoenix_annot.tracing.models import Project
from tests.factories import (
    AnnotationConfigFactory,
    DatasetFactory,
    DatasetVersionFactory,
    ProjectFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceAnnotationFactory,
)
from tests.filtering.time_limit import TIME_LIMIT_QUERIES

pytestmark = pytest.mark.django_db


@dataclass(frozen=True)
class Listing:
    name: str
    type_name: str
    max_limit: int
    make: Callable[[int], str]  # creates n rows, returns the list URL (with a query string)
    queries: int  # for one page of every row made
    id_key: str = "id"
    other_type_cursor: int = 200  # most lists do not check the cursor's type (Phoenix does not either)

    def __str__(self) -> str:
        return self.name


def projects(n: int) -> str:
    Project.objects.all().delete()
    for i in range(n):
        ProjectFactory(name=f"p{i}")
    return "/v1/projects?"


def span_annotations(n: int) -> str:
    span = SpanFactory(trace__project__name="p")
    for i in range(n):
        SpanAnnotationFactory(span=span, identifier=str(i))
    return f"/v1/projects/p/span_annotations?span_ids={span.span_id}&"


def trace_annotations(n: int) -> str:
    span = SpanFactory(trace__project__name="p")
    for i in range(n):
        TraceAnnotationFactory(trace=span.trace, identifier=str(i))
    return f"/v1/projects/p/trace_annotations?trace_ids={span.trace.trace_id}&"


def spans(n: int) -> str:
    project = ProjectFactory(name="p")
    for _ in range(n):
        SpanFactory(trace__project=project)
    return "/v1/projects/p/spans?"


def traces(n: int) -> str:
    project = ProjectFactory(name="p")
    for _ in range(n):
        span = SpanFactory(trace__project=project)
        SpanFactory(trace=span.trace)
    return "/v1/projects/p/traces?include_spans=true&"


def annotation_configs(n: int) -> str:
    AnnotationConfig.objects.all().delete()
    for i in range(n):
        AnnotationConfigFactory(name=f"c{i}")
    return "/v1/annotation_configs?"


def project_annotation_configs(n: int) -> str:
    project = ProjectFactory(name="p")
    for i in range(n):
        project.annotation_configs.add(AnnotationConfigFactory(name=f"c{i}"))
    return "/v1/projects/p/annotation_configs?"


def datasets(n: int) -> str:
    for _ in range(n):
        DatasetFactory()
    return "/v1/datasets?"


def dataset_versions(n: int) -> str:
    dataset = DatasetFactory()
    for _ in range(n):
        DatasetVersionFactory(dataset=dataset)
    return f"/v1/datasets/{to_global_id('Dataset', dataset.pk)}/versions?"


LISTINGS = [
    Listing("projects", "Project", 1000, projects, queries=1),
    Listing(
        "span annotations",
        "SpanAnnotation",
        10_000,
        span_annotations,
        queries=2,
    ),
    Listing(
        "trace annotations",
        "TraceAnnotation",
        10_000,
        trace_annotations,
        queries=2,
    ),
    Listing("spans", "Span", 1000, spans, queries=2 + TIME_LIMIT_QUERIES),
    Listing("traces", "Trace", 1000, traces, queries=4, other_type_cursor=422),
    Listing(
        "annotation configs",
        "CategoricalAnnotationConfig",
        1000,
        annotation_configs,
        queries=1,
        other_type_cursor=400,
    ),
    Listing(
        "project annotation configs",
        "CategoricalAnnotationConfig",
        1000,
        project_annotation_configs,
        queries=2,
        other_type_cursor=400,
    ),
    Listing("datasets", "Dataset", 1000, datasets, queries=1),
    Listing(
        "dataset versions",
        "DatasetVersion",
        1000,
        dataset_versions,
        queries=1,
        id_key="version_id",
        other_type_cursor=422,
    ),
]


def ids(api, url: str, id_key: str) -> tuple[list[str], str | None]:
    response = api.get(url)
    assert response.status_code == 200, (url, response.content)
    body = response.json()
    return [row[id_key] for row in body["data"]], body["next_cursor"]


@pytest.fixture(params=LISTINGS, ids=str)
def listing(request) -> Listing:
    return request.param


def test_pages_of_one_walk_every_row_once_newest_first(api, listing):
    url = listing.make(4)
    everything, last = ids(api, f"{url}limit={listing.max_limit}", listing.id_key)

    walked, cursor = [], None
    while True:
        page, cursor = ids(api, f"{url}limit=1" + (f"&cursor={cursor}" if cursor else ""), listing.id_key)
        walked += page
        if cursor is None:
            break

    assert last is None
    assert len(everything) == 4 and walked == everything
    if listing.name != "traces":  # traces are newest by start time, the others by id
        assert [from_global_id(i)[1] for i in everything] == sorted(
            (from_global_id(i)[1] for i in everything), reverse=True
        )


def test_a_cursor_at_the_last_row_answers_that_row_alone(api, listing):
    url = listing.make(3)

    first, cursor = ids(api, f"{url}limit=2", listing.id_key)
    last, after = ids(api, f"{url}limit=2&cursor={cursor}", listing.id_key)

    assert (len(first), last, after) == (2, [cursor], None)


def test_a_full_page_of_exactly_limit_rows_has_no_next_cursor(api, listing):
    url = listing.make(3)

    page, cursor = ids(api, f"{url}limit=3", listing.id_key)

    assert (len(page), cursor) == (3, None)


@pytest.mark.parametrize("limit", ["0", "-1", "x", "max+1"])
def test_limits_outside_the_bounds_are_422s(api, listing, limit):
    url = listing.make(1)
    value = str(listing.max_limit + 1) if limit == "max+1" else limit

    response = api.get(f"{url}limit={value}")

    assert response.status_code == 422
    detail = response.json()["detail"][0]
    assert detail["loc"] == ["query", "limit"]


def test_the_largest_limit_is_accepted(api, listing):
    url = listing.make(1)

    assert api.get(f"{url}limit={listing.max_limit}").status_code == 200


def test_an_empty_list_is_an_empty_page(api, listing):
    url = listing.make(0)

    response = api.get(url)

    assert response.json() == {"data": [], "next_cursor": None}


@pytest.mark.parametrize("listing", [x for x in LISTINGS if x.name != "traces"], ids=str)
def test_a_cursor_before_every_row_is_an_empty_page(api, listing):
    url = listing.make(2)

    response = api.get(f"{url}cursor={to_global_id(listing.type_name, 0)}")

    assert response.json() == {"data": [], "next_cursor": None}


def test_a_traces_cursor_must_name_an_existing_trace(api):
    url = traces(1)

    response = api.get(f"{url}cursor={to_global_id('Trace', 999_999)}")

    assert (response.status_code, response.content.decode()) == (422, "Invalid cursor")


def test_a_cursor_of_another_type_is_used_or_refused_as_phoenix_does(api, listing):
    url = listing.make(2)
    cursor = to_global_id("Nope", 999_999)

    response = api.get(f"{url}cursor={cursor}")

    assert response.status_code == listing.other_type_cursor
    if response.status_code == 200:
        assert len(response.json()["data"]) == 2  # Phoenix reads only the row id of a list cursor
    else:
        assert cursor in response.content.decode()


def test_a_cursor_that_is_not_a_global_id_is_refused(api, listing):
    url = listing.make(1)

    response = api.get(f"{url}cursor=@@@")

    assert response.status_code in (400, 422)
    assert "@@@" in response.content.decode()


def test_a_full_page_takes_a_fixed_number_of_queries(api, listing, django_assert_max_num_queries):
    url = listing.make(30)

    with django_assert_max_num_queries(listing.queries):
        response = api.get(f"{url}limit=100")

    assert len(response.json()["data"]) == 30


def test_dataset_versions_of_another_dataset_are_not_listed(api):
    url = dataset_versions(2)
    DatasetVersionFactory()

    assert len(api.get(url).json()["data"]) == 2
