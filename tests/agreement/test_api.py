"""GET /v1/projects/{identifier}/annotation_agreement: the Agreement page's figures, in Phoenix's style."""

import pytest

from tests.agreement.test_selectors import krippendorff_spans
from tests.factories import AnnotationConfigFactory, ProjectFactory

pytestmark = pytest.mark.django_db


def url(project, query: str) -> str:
    return f"/v1/projects/{project.name}/annotation_agreement?{query}"


def test_the_route_answers_every_figure_with_its_items_and_interval_under_the_spans_filters(
    client, v1_auth_off
):
    project = ProjectFactory(name="rag")
    krippendorff_spans(project)

    every = client.get(url(project, "annotation=correctness")).json()["data"]
    two = client.get(url(project, "annotation=correctness&name=unit+6&name=unit+7")).json()["data"]

    assert every["level"] == "nominal"
    assert [rater["name"] for rater in every["raters"]] == ["a", "b", "c", "d"]
    assert round(every["krippendorff_alpha"]["value"], 3) == 0.743
    assert every["krippendorff_alpha"]["items"] == 11
    assert every["krippendorff_alpha"]["ci_low"] < 0.743 < every["krippendorff_alpha"]["ci_high"]
    assert {key: every["pairs"][1][key] for key in ("first", "second", "items")} == {
        "first": 0,
        "second": 2,
        "items": 8,
    }
    assert two["rated_items"] == 2
    assert two["percent_agreement"]["value"] == pytest.approx(0.5)


def test_a_missing_name_a_freeform_name_and_a_bad_filter_are_422s_naming_the_problem(client, v1_auth_off):
    project = ProjectFactory(name="rag")
    AnnotationConfigFactory(name="comment", type="FREEFORM", values=[])

    missing = client.get(url(project, ""))
    freeform = client.get(url(project, "annotation=comment"))
    bad_filter = client.get(url(project, "annotation=correctness&span_kind=banana"))

    assert (missing.status_code, missing.content.decode()) == (
        422,
        "annotation is required: the span annotation name to rate",
    )
    assert freeform.status_code == 422
    assert "freeform" in freeform.content.decode()
    assert bad_filter.status_code == 422
    assert "span_kind" in bad_filter.content.decode()


def test_an_unknown_project_is_a_404(client, v1_auth_off):
    assert client.get("/v1/projects/nowhere/annotation_agreement?annotation=correctness").status_code == 404
