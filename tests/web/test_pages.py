import base64
import json

import pytest
from django.test import Client

from phoenix_annot.annotations.models import AnnotationConfig, SpanAnnotation
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.web.selectors import traces as trace_selectors
from tests.factories import (
    AnnotationConfigFactory,
    ProjectFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceAnnotationFactory,
    TraceFactory,
    UserFactory,
)
from tests.filtering.time_limit import TIME_LIMIT_QUERIES
from tests.web.conftest import HTMX

pytestmark = pytest.mark.django_db

XSS = '<script>window.__xss = 1</script><img src=x onerror="window.__xss=2">'


@pytest.mark.parametrize("path", ["/", "/projects/1/", "/datasets/", "/traces/abc/"])
def test_every_page_asks_for_a_login(client: Client, path: str):
    response = client.get(path)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_the_demo_style_login_leads_to_the_projects_page(client: Client):
    UserFactory(username="demo", password="demo")

    response = client.post("/login/", {"username": "demo", "password": "demo"}, follow=True)

    assert response.redirect_chain[-1][0] == "/"
    assert b"Projects" in response.content


def test_projects_show_counts_and_feedback(reviewer_client: Client):
    span = SpanFactory(trace__project__name="shop-bot")
    SpanAnnotationFactory(span=span, name="correctness", score=1.0)
    SpanAnnotationFactory(span=span, name="correctness", identifier="x", score=0.0)

    html = reviewer_client.get("/").content.decode()

    assert "shop-bot" in html
    assert "correctness: 2 · 0.50" in html


def make_project_with_spans(n: int, *, annotations_per_span: int = 2):
    project = ProjectFactory(name="busy")
    for _ in range(n):
        span = SpanFactory(trace=TraceFactory(project=project))
        for index in range(annotations_per_span):
            SpanAnnotationFactory(span=span, identifier=str(index), label="correct" if index else "incorrect")
    return project


def test_the_spans_table_shows_rows_with_a_feedback_column(reviewer_client: Client):
    project = make_project_with_spans(3)

    html = reviewer_client.get(f"/projects/{project.pk}/").content.decode()

    assert "Feedback" in html
    assert "Add to dataset" in html
    assert html.count('class="row-select"') == 3
    assert "correctness: correct" in html or "correctness: incorrect" in html


@pytest.mark.parametrize("rows", [2, 30])
def test_the_spans_table_takes_the_same_number_of_queries_whatever_the_rows(
    reviewer_client: Client, django_assert_max_num_queries, rows: int
):
    project = make_project_with_spans(rows, annotations_per_span=3)
    AnnotationConfigFactory(name="correctness")

    with django_assert_max_num_queries(10 + TIME_LIMIT_QUERIES):
        response = reviewer_client.get(f"/projects/{project.pk}/?annotation_name=correctness&label=correct")

    assert response.status_code == 200


def test_the_htmx_request_gets_only_the_results_fragment(reviewer_client: Client):
    project = make_project_with_spans(1)

    fragment = reviewer_client.get(f"/projects/{project.pk}/?q=capital", **HTMX).content.decode()

    assert "<html" not in fragment
    assert 'id="spans-table"' in fragment


def test_a_bad_filter_expression_shows_a_message_not_a_500(reviewer_client: Client):
    project = make_project_with_spans(1)

    response = reviewer_client.get(f"/projects/{project.pk}/", {"condition": "__import__('os').system('x')"})

    assert response.status_code == 200
    assert 'id="filter-errors"' in response.content.decode()


def test_feedback_filters_narrow_the_table(reviewer_client: Client):
    project = ProjectFactory(name="p")
    good = SpanFactory(trace=TraceFactory(project=project), name="good-one")
    bad = SpanFactory(trace=TraceFactory(project=project), name="bad-one")
    SpanAnnotationFactory(span=good, label="correct")
    SpanAnnotationFactory(span=bad, label="incorrect")
    SpanFactory(trace=TraceFactory(project=project), name="unlabelled-one")

    def names(query: dict) -> set[str]:
        html = reviewer_client.get(f"/projects/{project.pk}/", query).content.decode()
        return {n for n in ("good-one", "bad-one", "unlabelled-one") if f">{n}</a>" in html}

    assert names({"annotation_name": "correctness", "label": "incorrect"}) == {"bad-one"}
    assert names({"missing_annotation": "correctness"}) == {"unlabelled-one"}
    assert names({"condition": "annotations['correctness'].label == 'correct'"}) == {"good-one"}


def test_pages_are_cursor_paginated(reviewer_client: Client):
    project = make_project_with_spans(30, annotations_per_span=0)

    first = reviewer_client.get(f"/projects/{project.pk}/?size=25")
    cursor = first.context["page"].next_cursor
    second = reviewer_client.get(f"/projects/{project.pk}/?size=25&cursor={cursor}")

    first_ids = {s.pk for s in first.context["page"].rows}
    second_ids = {s.pk for s in second.context["page"].rows}
    assert (len(first_ids), len(second_ids)) == (25, 5)
    assert not first_ids & second_ids


def test_user_content_is_escaped_everywhere(reviewer_client: Client):
    span = SpanFactory(name=XSS, input_value=XSS, output_value=XSS, attributes={"input": {"value": XSS}})
    SpanAnnotationFactory(span=span, name="tone", label=XSS, explanation=XSS)

    pages = [
        reviewer_client.get(f"/projects/{span.project.pk}/").content.decode(),
        reviewer_client.get(f"/traces/{span.trace.trace_id}/").content.decode(),
    ]

    for html in pages:
        assert "<script>window.__xss" not in html
        assert "&lt;script&gt;window.__xss" in html


def _chain_of_spans(n: int) -> list:
    """A trace of n spans named s0, s1, ..., each the parent of the next."""
    spans = [SpanFactory(name="s0")]
    for index in range(1, n):
        spans.append(SpanFactory(trace=spans[0].trace, parent_id=spans[-1].span_id, name=f"s{index}"))
    return spans


def _tree_names(response) -> list[str]:
    return [row.span.name for row in (response.context.get("tree") or response.context["review"].tree).rows]


class TestTracePage:
    def test_it_shows_the_span_tree_and_the_annotate_button(self, reviewer_client: Client):
        root = SpanFactory(name="root-span", span_kind="CHAIN")
        SpanFactory(trace=root.trace, parent_id=root.span_id, name="child-span", status_code="ERROR")

        html = reviewer_client.get(f"/traces/{root.trace.trace_id}/").content.decode()

        assert html.index("root-span") < html.index("child-span")
        assert "Annotate" in html

    def test_it_renders_chat_messages_documents_and_exceptions(self, reviewer_client: Client):
        span = SpanFactory(
            attributes={
                "llm": {"input_messages": [{"message": {"role": "user", "content": "What is 2+2?"}}]},
                "retrieval": {
                    "documents": [{"document": {"id": "doc-7", "content": "Arithmetic", "score": 0.875}}]
                },
            },
            events=[
                {
                    "name": "exception",
                    "timestamp": "x",
                    "attributes": {"exception.type": "RateLimitError", "exception.message": "slow down"},
                }
            ],
        )

        html = reviewer_client.get(f"/traces/{span.trace.trace_id}/").content.decode()

        assert "What is 2+2?" in html
        assert "doc-7" in html and "0.875" in html
        assert "RateLimitError" in html and "slow down" in html

    def test_a_big_trace_shows_one_page_of_its_tree_and_loads_the_next_on_demand(
        self, reviewer_client: Client, monkeypatch
    ):
        monkeypatch.setattr(trace_selectors, "TREE_PAGE_SIZE", 3)
        spans = _chain_of_spans(8)
        url = f"/traces/{spans[0].trace.trace_id}/"

        first = reviewer_client.get(url)
        second = reviewer_client.get(f"{url}tree/?page=1&direction=down", **HTMX)
        last = reviewer_client.get(f"{url}tree/?page=2&direction=down", **HTMX)

        assert _tree_names(first) == ["s0", "s1", "s2"]
        assert 'hx-get="tree/?page=1&amp;direction=down"' in first.content.decode()
        assert "(5 after these)" in first.content.decode()
        assert _tree_names(second) == ["s3", "s4", "s5"]
        assert 'hx-get="tree/?page=2&amp;direction=down"' in second.content.decode()
        assert _tree_names(last) == ["s6", "s7"]
        assert "data-tree-more" not in last.content.decode()

    def test_selecting_a_span_deep_in_a_big_trace_shows_its_page_of_the_tree(
        self, reviewer_client: Client, monkeypatch
    ):
        monkeypatch.setattr(trace_selectors, "TREE_PAGE_SIZE", 3)
        spans = _chain_of_spans(8)

        response = reviewer_client.get(f"/traces/{spans[0].trace.trace_id}/?span={spans[7].span_id}")
        html = response.content.decode()

        assert _tree_names(response) == ["s6", "s7"]
        assert f'class="selected" style="padding-left: 7em" data-span-id="{spans[7].span_id}"' in html
        assert 'hx-get="tree/?page=1&amp;direction=up"' in html
        assert response.context["review"].selected == spans[7]

    def test_a_tree_page_past_the_end_or_not_a_number_is_empty_or_the_first(self, reviewer_client: Client):
        spans = _chain_of_spans(2)
        url = f"/traces/{spans[0].trace.trace_id}/tree/"

        assert _tree_names(reviewer_client.get(f"{url}?page={'9' * 40}", **HTMX)) == []
        assert _tree_names(reviewer_client.get(f"{url}?page=-1", **HTMX)) == ["s0", "s1"]

    def test_an_unknown_trace_is_a_404(self, reviewer_client: Client):
        assert reviewer_client.get("/traces/nope/").status_code == 404

    def test_it_takes_a_constant_number_of_queries(
        self, reviewer_client: Client, django_assert_max_num_queries
    ):
        root = SpanFactory()
        for n in range(20):
            child = SpanFactory(trace=root.trace, parent_id=root.span_id)
            SpanAnnotationFactory(span=child, identifier=str(n))

        # 12 with the History disclosure's one; 14 with the Corrected output editors' and their history's.
        with django_assert_max_num_queries(14):
            assert reviewer_client.get(f"/traces/{root.trace.trace_id}/").status_code == 200


class TestAnnotating:
    def test_saving_upserts_the_reviewers_own_annotation_and_returns_the_panel(
        self, reviewer_client: Client, reviewer
    ):
        span = SpanFactory()
        AnnotationConfigFactory(name="correctness").projects.add(span.project)
        url = f"/annotate/span/{span.span_id}/"

        first = reviewer_client.post(url, {"name": "correctness", "label": "incorrect"}, **HTMX)
        reviewer_client.post(url, {"name": "correctness", "label": "correct", "explanation": "fixed"}, **HTMX)

        annotation = SpanAnnotation.objects.get()
        assert (annotation.label, annotation.score, annotation.explanation) == ("correct", 1.0, "fixed")
        assert annotation.identifier == f"px-app:{to_global_id('User', reviewer.pk)}"
        assert (annotation.annotator_kind, annotation.source, annotation.user) == ("HUMAN", "APP", reviewer)
        assert first["HX-Trigger"] == "annotations-changed"
        assert f'id="chips-{span.pk}" hx-swap-oob' in first.content.decode()

    def test_two_reviewers_each_keep_their_own_label(self, reviewer_client: Client):
        span = SpanFactory()
        other = Client()
        other.force_login(UserFactory())

        reviewer_client.post(f"/annotate/span/{span.span_id}/", {"name": "tone", "label": "rude"}, **HTMX)
        other.post(f"/annotate/span/{span.span_id}/", {"name": "tone", "label": "fine"}, **HTMX)

        assert sorted(SpanAnnotation.objects.values_list("label", flat=True)) == ["fine", "rude"]

    @pytest.mark.parametrize(
        ("values", "message"),
        [
            (
                {"name": "correctness", "label": "maybe"},
                "&#x27;maybe&#x27; is not a label of &#x27;correctness&#x27;",
            ),
            ({"name": "relevance", "score": "7"}, "above the upper bound"),
            ({"name": "correctness"}, "An annotation needs a label, a score or an explanation."),
            ({"name": "anything", "label": ""}, "An annotation needs a label, a score or an explanation."),
        ],
    )
    def test_values_outside_the_config_are_refused_with_a_message(
        self, reviewer_client: Client, values, message
    ):
        span = SpanFactory()
        AnnotationConfigFactory(name="correctness").projects.add(span.project)
        relevance = AnnotationConfigFactory(
            name="relevance", type="CONTINUOUS", values=[], lower_bound=0, upper_bound=1
        )
        relevance.projects.add(span.project)

        response = reviewer_client.post(f"/annotate/span/{span.span_id}/", values, **HTMX)

        assert message in response.content.decode()
        assert not SpanAnnotation.objects.exists()

    def test_a_whole_trace_can_be_annotated(self, reviewer_client: Client):
        trace = SpanFactory().trace
        AnnotationConfig.objects.get(name="user_feedback").projects.add(trace.project)

        reviewer_client.post(
            f"/annotate/trace/{trace.trace_id}/", {"name": "user_feedback", "label": "positive"}, **HTMX
        )

        assert trace.annotations.get().score == 1.0

    def test_the_panel_offers_the_configs_assigned_to_the_project_and_checks_only_those(
        self, reviewer_client: Client
    ):
        span, elsewhere = SpanFactory(), SpanFactory()
        AnnotationConfigFactory(name="correctness").projects.add(span.project)
        AnnotationConfigFactory(name="relevance", type="CONTINUOUS", values=[]).projects.add(ProjectFactory())

        panel = reviewer_client.get(f"/traces/{span.trace.trace_id}/?span={span.span_id}").content.decode()
        checked = reviewer_client.post(
            f"/annotate/span/{span.span_id}/", {"name": "correctness", "label": "meh"}, **HTMX
        )
        free = reviewer_client.post(
            f"/annotate/span/{elsewhere.span_id}/", {"name": "correctness", "label": "meh"}, **HTMX
        )

        assert 'name="name" value="correctness"' in panel
        assert 'name="name" value="relevance"' not in panel
        assert "checked against the configs assigned to this project" in panel
        assert "is not a label of" in checked.content.decode()
        assert list(SpanAnnotation.objects.values_list("span", "label", "score")) == [
            (elsewhere.pk, "meh", None)
        ]
        assert "No annotation config is assigned to this project" in free.content.decode()

    def test_a_reviewer_deletes_their_own_annotation_but_not_anybody_elses(self, reviewer_client: Client):
        span = SpanFactory()
        reviewer_client.post(f"/annotate/span/{span.span_id}/", {"name": "tone", "label": "rude"}, **HTMX)
        mine = SpanAnnotation.objects.get()
        theirs = SpanAnnotationFactory(span=span, user=UserFactory(), identifier="someone")

        forbidden = reviewer_client.post(f"/annotations/span/{theirs.pk}/delete/", **HTMX)
        allowed = reviewer_client.post(f"/annotations/span/{mine.pk}/delete/", **HTMX)

        assert forbidden.status_code == 403
        assert allowed.status_code == 200
        assert list(SpanAnnotation.objects.all()) == [theirs]

    def test_viewers_cannot_annotate(self):
        client = Client()
        client.force_login(UserFactory(role="VIEWER"))
        span = SpanFactory()

        assert client.post(f"/annotate/span/{span.span_id}/", {"name": "x", "label": "y"}).status_code == 403

    def test_a_post_without_a_csrf_token_is_refused(self, reviewer):
        client = Client(enforce_csrf_checks=True)
        client.force_login(reviewer)
        span = SpanFactory()

        assert client.post(f"/annotate/span/{span.span_id}/", {"name": "x", "label": "y"}).status_code == 403
        assert not SpanAnnotation.objects.exists()

    def test_without_htmx_saving_redirects_back_to_the_trace(self, reviewer_client: Client):
        span = SpanFactory()

        response = reviewer_client.post(f"/annotate/span/{span.span_id}/", {"name": "tone", "label": "ok"})

        assert response.status_code == 302
        assert response["Location"] == f"/traces/{span.trace.trace_id}/?span={span.span_id}"


def test_trace_annotation_chips_show_on_the_traces_tab(reviewer_client: Client):
    span = SpanFactory()
    TraceAnnotationFactory(trace=span.trace, name="user_feedback", label="negative")

    html = reviewer_client.get(f"/projects/{span.project.pk}/traces/").content.decode()

    assert "user_feedback: negative" in html


def test_the_any_option_of_the_kind_and_status_selects_means_no_filter(reviewer_client: Client):
    project = make_project_with_spans(2, annotations_per_span=0)

    response = reviewer_client.get(f"/projects/{project.pk}/", {"span_kind": "", "status_code": ""})

    assert not response.context["page"].filterset.errors
    assert response.context["page"].total == 2


def test_a_database_outage_is_a_retryable_503_not_a_500(reviewer_client: Client, monkeypatch):
    def unavailable(**kwargs):
        from django.db import OperationalError

        raise OperationalError("could not connect to server")

    monkeypatch.setattr("phoenix_annot.web.views.projects.project_list_for_review", unavailable)

    response = reviewer_client.get("/")

    assert response.status_code == 503
    assert response["Retry-After"] == "1"


def test_the_traces_tab_sorts_by_the_traces_totals_it_shows(reviewer_client: Client):
    project = ProjectFactory(name="p")
    small = TraceFactory(project=project, llm_token_count_total=10, latency_ms=900)
    large = TraceFactory(project=project, llm_token_count_total=500, latency_ms=100)
    for trace in (small, large):
        SpanFactory(trace=trace, llm_token_count_total=None, latency_ms=5)

    by_tokens = (
        reviewer_client.get(f"/projects/{project.pk}/traces/?sort=tokens&dir=desc").context["page"].rows
    )
    by_latency = (
        reviewer_client.get(f"/projects/{project.pk}/traces/?sort=latency_ms&dir=desc").context["page"].rows
    )

    assert [span.trace_id for span in by_tokens] == [large.pk, small.pk]
    assert [span.trace_id for span in by_latency] == [small.pk, large.pk]


@pytest.mark.parametrize("size", ["²", "9" * 5000, "-25", "abc"])
def test_a_page_size_that_is_not_a_plain_number_falls_back_to_the_default(reviewer_client: Client, size):
    project = SpanFactory().project

    response = reviewer_client.get(f"/projects/{project.pk}/", {"size": size})

    assert response.status_code == 200
    assert response.context["page"].page_size == 50


def _cursor(value: object, pk: object) -> str:
    return base64.urlsafe_b64encode(json.dumps([value, pk]).encode()).decode()


TAMPERED_CURSORS = [
    ("start_time", _cursor("2026-13-45T00:00:00", 1)),
    ("start_time", _cursor(12345, 1)),
    ("start_time", _cursor("2026-01-01T00:00:00+99:00", 1)),
    ("start_time", _cursor("9999-12-31T23:59:59-23:59", 1)),
    ("start_time", _cursor("0001-01-01T00:00:00+23:59", 1)),
    ("start_time", _cursor("2026-01-01T00:00:00", 2**70)),
    ("start_time", _cursor("2026-01-01T00:00:00", True)),
    ("latency_ms", _cursor("2026-01-01T00:00:00", 1)),
    ("latency_ms", _cursor(10**400, 1)),
    ("latency_ms", "WzFlOTk5LCAxXQ=="),  # [1e999, 1]: infinity once decoded
    ("latency_ms", _cursor(True, 1)),
    ("tokens", _cursor(10**30, 1)),
    ("tokens", _cursor(1.5e300, -(2**70))),
    ("tokens", "not base64 at all!"),
    ("tokens", _cursor([1], 1)),
]


@pytest.mark.parametrize(("sort", "cursor"), TAMPERED_CURSORS)
@pytest.mark.parametrize("tab", ["spans", "traces"])
def test_a_tampered_cursor_restarts_the_list(reviewer_client: Client, tab: str, sort: str, cursor: str):
    project = make_project_with_spans(3, annotations_per_span=0)
    url = f"/projects/{project.pk}/" if tab == "spans" else f"/projects/{project.pk}/traces/"

    first = reviewer_client.get(url, {"sort": sort})
    response = reviewer_client.get(url, {"sort": sort, "cursor": cursor})

    assert response.status_code == 200
    assert response.context["page"].rows == first.context["page"].rows


@pytest.mark.parametrize(
    "path", ["/traces/a%00b/", "/traces/a%00b/tree/", "/spans/a%00b/", "/sessions/1%00/"]
)
def test_an_address_holding_a_nul_is_the_sites_404_page_not_a_database_error(reviewer_client: Client, path):
    reviewer_client.raise_request_exception = False

    response = reviewer_client.get(path)

    assert response.status_code == 404
    assert b"phoenix-annot" in response.content
