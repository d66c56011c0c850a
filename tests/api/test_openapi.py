"""The OpenAPI document (/openapi.json) and Swagger UI (/docs): complete, valid, and served from here."""

import json
import re
from typing import Any

import pytest
from django.core.management import call_command
from django.test import Client
from jsonschema import Draft7Validator

from tests.api.routes import v1_routes
from tests.factories import AnnotationConfigFactory

pytestmark = pytest.mark.django_db

EXTERNAL_URL = re.compile(r"""(?:src|href|url)\s*[=:(]\s*["']?\s*(?:https?:)?//""", re.IGNORECASE)


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return Client().get("/openapi.json").json()


def test_the_schema_generates_and_validates_without_a_warning(tmp_path):
    out = tmp_path / "openapi.json"

    call_command(
        "spectacular", "--validate", "--fail-on-warn", "--format", "openapi-json", "--file", str(out)
    )

    assert json.loads(out.read_text())["info"]["title"] == "phoenix-annot REST API"


def test_the_schema_lists_every_v1_route_and_method(document):
    documented = {
        (method.upper(), path) for path, operations in document["paths"].items() for method in operations
    }

    assert documented == v1_routes()


def test_every_operation_documents_its_errors_as_plain_text(document):
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            responses = operation["responses"]
            assert "401" in responses, (method, path)
            errors = {status: r for status, r in responses.items() if status >= "400"}
            for status, response in errors.items():
                if status != "422" or "text/plain" in response["content"]:
                    assert response["content"]["text/plain"]["schema"] == {"type": "string"}, (path, status)
            assert operation["operationId"], (method, path)


def test_the_schema_is_served_without_a_key_when_auth_is_on(client, settings):
    settings.V1_AUTH_REQUIRED = True

    response = client.get("/openapi.json", HTTP_AUTHORIZATION="Bearer stale")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/vnd.oai.openapi+json")


def test_the_docs_page_loads_only_files_served_here(client, settings):
    settings.V1_AUTH_REQUIRED = True

    page = client.get("/docs")

    html = page.content.decode()
    assert page.status_code == 200
    assert not EXTERNAL_URL.search(html), EXTERNAL_URL.search(html)
    assets = re.findall(r"""(?:src|href)="([^"]+)\"""", html)
    assert any(a.endswith("swagger-ui-bundle.js") for a in assets)
    for asset in assets:
        served = client.get(asset)
        assert served.status_code == 200, asset
        b"".join(served.streaming_content) if served.streaming else served.content
    assert '"validatorUrl": null' in html


# --- responses match the document ----------------------------------------------------------------------


def json_schema(node: Any, components: dict[str, Any]) -> Any:
    """OpenAPI 3.0 schema -> JSON Schema: refs inlined, `nullable` as a null alternative."""
    if isinstance(node, list):
        return [json_schema(item, components) for item in node]
    if not isinstance(node, dict):
        return node
    if "$ref" in node:
        return json_schema(components[node["$ref"].rsplit("/", 1)[-1]], components)
    converted = {
        key: json_schema(value, components)
        for key, value in node.items()
        if key not in ("nullable", "discriminator")
    }
    if node.get("nullable"):
        return {"anyOf": [converted, {"type": "null"}]}
    return converted


def assert_documented(document: dict[str, Any], route: str, method: str, response) -> None:
    documented = document["paths"][route][method]["responses"][str(response.status_code)]
    schema = documented["content"]["application/json"]["schema"]
    validator = Draft7Validator(json_schema(schema, document["components"]["schemas"]))
    problems = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(response.json())]
    assert not problems, (method, route, problems)


def test_read_responses_match_the_document(api, world, document):
    AnnotationConfigFactory(name="quality", type="CONTINUOUS", values=[], lower_bound=0, upper_bound=1)
    AnnotationConfigFactory(name="notes", type="FREEFORM", values=[], optimization_direction="NONE")
    span_id, tid, ds = world.span.span_id, world.trace.trace_id, world.dataset_gid
    reads = {
        "/v1/projects": "/v1/projects",
        "/v1/projects/{identifier}": "/v1/projects/p",
        "/v1/projects/{identifier}/spans": "/v1/projects/p/spans",
        "/v1/projects/{identifier}/traces": "/v1/projects/p/traces?include_spans=true",
        "/v1/projects/{identifier}/span_annotations": f"/v1/projects/p/span_annotations?span_ids={span_id}",
        "/v1/projects/{identifier}/trace_annotations": f"/v1/projects/p/trace_annotations?trace_ids={tid}",
        "/v1/projects/{identifier}/annotation_configs": "/v1/projects/p/annotation_configs",
        "/v1/annotation_configs": "/v1/annotation_configs",
        "/v1/annotation_configs/{identifier}": "/v1/annotation_configs/correctness",
        "/v1/datasets": "/v1/datasets",
        "/v1/datasets/{dataset_id}": f"/v1/datasets/{ds}",
        "/v1/datasets/{dataset_id}/versions": f"/v1/datasets/{ds}/versions",
        "/v1/datasets/{dataset_id}/examples": f"/v1/datasets/{ds}/examples",
    }

    for route, url in reads.items():
        response = api.get(url)
        assert response.status_code == 200, url
        assert_documented(document, route, "get", response)
    assert len(api.get("/v1/annotation_configs").json()["data"]) == 4


def test_write_responses_match_the_document(api, world, document):
    annotation = {"name": "tone", "annotator_kind": "HUMAN", "result": {"label": "fine"}}
    writes = [
        ("/v1/projects", "/v1/projects", {"name": "new"}),
        (
            "/v1/span_annotations",
            "/v1/span_annotations?sync=true",
            {"data": [{**annotation, "span_id": world.span.span_id}]},
        ),
        (
            "/v1/trace_annotations",
            "/v1/trace_annotations?sync=true",
            {"data": [{**annotation, "trace_id": world.trace.trace_id}]},
        ),
        ("/v1/span_notes", "/v1/span_notes", {"data": {"span_id": world.span.span_id, "note": "n"}}),
        ("/v1/annotation_configs", "/v1/annotation_configs", {"name": "q", "type": "FREEFORM"}),
        ("/v1/datasets/upload", "/v1/datasets/upload?sync=true", {"name": "more", "inputs": [{"q": "a"}]}),
        (
            "/v1/projects/{identifier}/spans",
            "/v1/projects/p/spans",
            {
                "data": [
                    {
                        "name": "logged",
                        "context": {"trace_id": "c" * 32, "span_id": "c" * 16},
                        "start_time": "2026-01-01T00:00:00+00:00",
                        "end_time": "2026-01-01T00:00:01+00:00",
                    }
                ]
            },
        ),
    ]

    for route, url, body in writes:
        response = api.post(url, body)
        assert response.status_code in (200, 202), (url, response.content)
        assert_documented(document, route, "post", response)
    put = api.put(f"/v1/projects/p/annotation_configs/{world.config_gid}")
    assert_documented(
        document, "/v1/projects/{identifier}/annotation_configs/{config_identifier}", "put", put
    )


def test_an_upload_without_sync_answers_null_which_the_document_allows(api, document):
    response = api.post("/v1/datasets/upload", {"name": "quiet", "inputs": [{"q": "a"}]})

    assert (response.status_code, response.json()) == (200, None)
    assert_documented(document, "/v1/datasets/upload", "post", response)


def test_validation_errors_match_the_document(api, document):
    response = api.post("/v1/projects", {})

    assert response.status_code == 422
    assert_documented(document, "/v1/projects", "post", response)
