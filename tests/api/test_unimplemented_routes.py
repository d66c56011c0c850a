"""Phoenix's /v1 routes that phoenix-annot does not serve answer as FastAPI does, in JSON, saying so."""

import json
import re
from pathlib import Path

import pytest

from tests.api.routes import v1_routes

pytestmark = pytest.mark.django_db

PHOENIX_OPENAPI = Path(__file__).resolve().parents[3] / "shared" / "phoenix-openapi-20.26.1.json"
METHODS = ("get", "post", "put", "patch", "delete")


def _template(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "{}", path)


# Phoenix 20.26.1's REST operations that no route here serves; the README lists them. The test below keeps
# this list equal to what Phoenix's OpenAPI document and our URLconf say, where that document is at hand.
PHOENIX_ROUTES_NOT_SERVED = [
    ("DELETE", "/v1/dataset_labels/{label_id}"),
    ("DELETE", "/v1/datasets/{dataset_identifier}/labels/{label_id}"),
    ("DELETE", "/v1/experiments/{experiment_id}"),
    ("DELETE", "/v1/experiments/{experiment_id}/tags/{tag_identifier}"),
    ("DELETE", "/v1/projects/{project_identifier}/traces"),
    ("DELETE", "/v1/prompt_versions/{prompt_version_id}/tags/{tag_name}"),
    ("DELETE", "/v1/prompts/{prompt_identifier}"),
    ("DELETE", "/v1/system/api_keys/{api_key_id}"),
    ("DELETE", "/v1/traces/{trace_identifier}"),
    ("DELETE", "/v1/user/api_keys/{api_key_id}"),
    ("DELETE", "/v1/users/{user_id}"),
    ("GET", "/v1/agent_sessions"),
    ("GET", "/v1/agent_sessions/{session_id}"),
    ("GET", "/v1/agent_sessions/{session_id}/messages"),
    ("GET", "/v1/custom_model_providers"),
    ("GET", "/v1/dataset_labels"),
    ("GET", "/v1/dataset_labels/{label_id}"),
    ("GET", "/v1/datasets/{dataset_identifier}/labels"),
    ("GET", "/v1/datasets/{dataset_id}/experiments"),
    ("GET", "/v1/experiments/{experiment_id}"),
    ("GET", "/v1/experiments/{experiment_id}/csv"),
    ("GET", "/v1/experiments/{experiment_id}/incomplete-evaluations"),
    ("GET", "/v1/experiments/{experiment_id}/incomplete-runs"),
    ("GET", "/v1/experiments/{experiment_id}/json"),
    ("GET", "/v1/experiments/{experiment_id}/runs"),
    ("GET", "/v1/experiments/{experiment_id}/tags"),
    ("GET", "/v1/model_providers"),
    ("GET", "/v1/projects/{project_identifier}/spans/otlpv1"),
    ("GET", "/v1/prompt_versions/{prompt_version_id}"),
    ("GET", "/v1/prompt_versions/{prompt_version_id}/tags"),
    ("GET", "/v1/prompts"),
    ("GET", "/v1/prompts/{prompt_identifier}/latest"),
    ("GET", "/v1/prompts/{prompt_identifier}/tags/{tag_name}"),
    ("GET", "/v1/prompts/{prompt_identifier}/versions"),
    ("GET", "/v1/system/api_keys"),
    ("GET", "/v1/user"),
    ("GET", "/v1/user/api_keys"),
    ("GET", "/v1/users"),
    ("GET", "/v1/users/api_keys"),
    ("PATCH", "/v1/agent_sessions/{session_id}"),
    ("PATCH", "/v1/dataset_labels/{label_id}"),
    ("PATCH", "/v1/experiments/{experiment_id}"),
    ("PATCH", "/v1/projects/{project_identifier}/retention"),
    ("PATCH", "/v1/prompts/{prompt_identifier}"),
    ("POST", "/v1/agent_sessions"),
    ("POST", "/v1/agent_sessions/{session_id}/chat"),
    ("POST", "/v1/agent_sessions/{session_id}/compact"),
    ("POST", "/v1/agent_sessions/{session_id}/tool_approvals"),
    ("POST", "/v1/agent_sessions/{session_id}/tool_outputs"),
    ("POST", "/v1/chat/completions"),
    ("POST", "/v1/dataset_labels"),
    ("POST", "/v1/datasets/{dataset_id}/experiments"),
    ("POST", "/v1/experiment_evaluations"),
    ("POST", "/v1/experiments/{experiment_id}/runs"),
    ("POST", "/v1/experiments/{experiment_id}/tags"),
    ("POST", "/v1/prompt_versions/{prompt_version_id}/tags"),
    ("POST", "/v1/prompts"),
    ("POST", "/v1/prompts/{prompt_identifier}/versions"),
    ("POST", "/v1/system/api_keys"),
    ("POST", "/v1/traces/transfer"),
    ("POST", "/v1/user/api_keys"),
    ("POST", "/v1/users"),
    ("PUT", "/v1/datasets/{dataset_identifier}/labels"),
    ("PUT", "/v1/datasets/{dataset_identifier}/labels/{label_id}"),
    ("PUT", "/v1/secrets"),
]


def test_the_list_of_phoenix_routes_not_served_is_complete():
    if not PHOENIX_OPENAPI.exists():
        pytest.skip("Phoenix's OpenAPI document is not here")
    served = {(method, _template(path)) for method, path in v1_routes()}
    paths = json.loads(PHOENIX_OPENAPI.read_text())["paths"]

    not_served = sorted(
        (method.upper(), path)
        for path, operations in paths.items()
        for method in operations
        if method in METHODS and (method.upper(), _template(path)) not in served
    )

    assert not_served == PHOENIX_ROUTES_NOT_SERVED


@pytest.mark.parametrize(("method", "path"), PHOENIX_ROUTES_NOT_SERVED)
def test_a_phoenix_route_not_implemented_here_is_a_json_error_saying_so(api, method, path):
    url = _template(path).replace("{}", "x1")

    response = api.generic(method, url, "{}", content_type="application/json")

    assert response.status_code in (404, 405)
    assert response["Content-Type"] == "application/json"
    reason = "Not Found" if response.status_code == 404 else "Method Not Allowed"
    assert response.json() == {"detail": f"{reason}: phoenix-annot does not implement {method} {url}"}


@pytest.mark.parametrize("debug", [False, True])
@pytest.mark.parametrize("url", ["/v1/prompts", "/v1/experiments/x1/runs", "/v1/not/a/route", "/v1", "/v1/"])
def test_any_other_v1_path_is_a_json_404_not_djangos_page(api, settings, debug, url):
    settings.DEBUG = debug

    response = api.post(url, {"data": {}})

    assert (response.status_code, response["Content-Type"]) == (404, "application/json")
    assert response.json() == {"detail": f"Not Found: phoenix-annot does not implement POST {url}"}


def test_a_method_a_route_does_not_take_is_a_json_405_keeping_allow(api):
    response = api.delete("/v1/projects/p/traces")

    assert (response.status_code, response["Allow"]) == (405, "GET, HEAD, OPTIONS")
    assert response.json() == {
        "detail": "Method Not Allowed: phoenix-annot does not implement DELETE /v1/projects/p/traces"
    }
