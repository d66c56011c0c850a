"""Node.js clients nobody here wrote, against phoenix-annot as the README serves it.

The OpenTelemetry JS exporters (and openinference-js, the Vercel AI SDK, Mastra, @arizeai/phoenix-otel on top
of them) send every export with `Transfer-Encoding: chunked` and no `Content-Length`; @arizeai/phoenix-client
is the official TypeScript client. They are installed from npm by the `node_clients` fixture, pinned by
tests/compat/node/package-lock.json.
"""

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.compat.served import Served, demo_server, gunicorn_server
from tests.npm import npm_ci

NODE_DIR = Path(__file__).parent / "node"
SERVERS = {"demo": demo_server, "gunicorn": gunicorn_server}


@pytest.fixture(scope="session")
def node_clients() -> Path:
    return npm_ci(NODE_DIR)


@pytest.fixture(scope="module", params=sorted(SERVERS))
def served(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with SERVERS[request.param](tmp_path_factory.mktemp(request.param)) as server:
        yield server


def node(script: str, options: dict[str, Any]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["node", script, json.dumps(options)],
        cwd=NODE_DIR,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def export_spans(served: Served, *, protocol: str, compression: str, project: str) -> list[dict[str, str]]:
    done = node(
        "export_spans.mjs",
        {
            "url": f"{served.base_url}/v1/traces",
            "protocol": protocol,
            "compression": compression,
            "project": project,
            "traces": 4,
            "headers": served.headers,
        },
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def listed_spans(served: Served, project: str) -> dict[str, dict[str, Any]]:
    response = httpx.get(
        f"{served.base_url}/v1/projects/{project}/spans", params={"limit": 100}, headers=served.headers
    )
    assert response.status_code == 200, response.text
    return {span["context"]["span_id"]: span for span in response.json()["data"]}


@pytest.mark.parametrize("compression", ["none", "gzip"])
@pytest.mark.parametrize("protocol", ["json", "protobuf"])
def test_every_span_a_node_exporter_sends_is_stored_with_its_attributes(
    node_clients: Path, served: Served, protocol: str, compression: str
) -> None:
    project = f"node-{protocol}-{compression}"

    sent = export_spans(served, protocol=protocol, compression=compression, project=project)

    stored = listed_spans(served, project)
    assert sorted(stored) == sorted(span["span_id"] for span in sent)
    assert {span["context"]["trace_id"] for span in stored.values()} == {span["trace_id"] for span in sent}
    llm = next(span for span in stored.values() if span["span_kind"] == "LLM")
    assert llm["attributes"]["llm.model_name"] == "gpt-4o-mini"
    assert llm["attributes"]["tag.tags"] == ["node", "compat"]
    assert llm["attributes"]["llm.token_count.total"] in {15, 16, 17, 18}
    root = next(span for span in stored.values() if span["span_kind"] == "CHAIN")
    assert "¿qué tal? 日本語" in root["attributes"]["input.value"]
    assert {span["status_code"] for span in stored.values()} == {"OK", "UNSET", "ERROR"} - {"OK"}


def test_a_chunked_body_over_the_limit_is_refused_and_nothing_is_stored(
    node_clients: Path, served: Served
) -> None:
    chunks = (b"\x0a" * 1024 * 1024 for _ in range(40))

    response = httpx.post(
        f"{served.base_url}/v1/traces",
        content=chunks,
        headers={"Content-Type": "application/x-protobuf", **served.headers},
    )

    assert response.status_code == 413
    assert "PHOENIX_ANNOT_MAX_REQUEST_BODY_BYTES" in response.text


def test_an_empty_chunked_otlp_body_is_a_400_not_a_200(served: Served) -> None:
    response = httpx.post(
        f"{served.base_url}/v1/traces",
        content=iter([b""]),
        headers={"Content-Type": "application/x-protobuf", **served.headers},
    )

    assert response.status_code == 400
    assert "empty" in response.text


def test_a_chunked_json_body_reaches_a_rest_route_whole(node_clients: Path, served: Served) -> None:
    project = "chunked-rest"
    span_id = export_spans(served, protocol="json", compression="none", project=project)[0]["span_id"]
    body = json.dumps(
        {
            "data": [
                {"span_id": span_id, "name": "tone", "annotator_kind": "CODE", "result": {"label": "calm"}}
            ]
        }
    )

    response = httpx.post(
        f"{served.base_url}/v1/span_annotations",
        params={"sync": "true"},
        content=(body[i : i + 10].encode() for i in range(0, len(body), 10)),
        headers={"Content-Type": "application/json", **served.headers},
    )

    assert response.status_code == 200, response.text
    annotations = httpx.get(
        f"{served.base_url}/v1/projects/{project}/span_annotations",
        params={"span_ids": span_id},
        headers=served.headers,
    ).json()["data"]
    assert [(a["name"], a["result"]["label"]) for a in annotations] == [("tone", "calm")]


def test_the_typescript_client_writes_annotations_reads_them_back_and_makes_a_dataset(
    node_clients: Path, served: Served
) -> None:
    project = "node-phoenix-client"
    span_ids = [
        span["span_id"]
        for span in export_spans(served, protocol="protobuf", compression="gzip", project=project)
    ]

    done = node(
        "phoenix_client.mjs",
        {
            "baseUrl": served.base_url,
            "headers": served.headers,
            "project": project,
            "spanIds": span_ids,
            "datasetName": "made in node",
        },
    )

    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    assert len(result["logged"]) == len(span_ids) - 1
    read = {(a["span_id"], a["name"]): a for a in result["read"]["annotations"]}
    assert len(read) == len(span_ids)
    helpfulness = read[span_ids[0], "helpfulness"]
    assert (helpfulness["annotator_kind"], helpfulness["result"]["score"]) == ("HUMAN", 0.25)
    assert helpfulness["id"] == result["added"]["id"]
    judged = read[span_ids[2], "correctness"]
    assert judged["result"] == {"label": "incorrect", "score": 0, "explanation": "judged by a Node evaluator"}
    assert (judged["identifier"], judged["metadata"]) == ("node-judge", {"model": "gpt-4o", "n": 1})
    assert result["dataset"]["name"] == "made in node"
    assert result["created"]["datasetId"] == result["dataset"]["id"]
    examples = sorted(result["examples"]["examples"], key=lambda example: example["metadata"]["n"])
    assert [example["input"] for example in examples] == [
        {"question": "¿Dónde está la biblioteca?"},
        {"question": "2 + 2?"},
    ]
    assert [example["output"] for example in examples] == [{"answer": "Allí."}, {"answer": "4"}]


def test_the_typescript_client_puts_examples_in_splits_and_reads_one_split(
    node_clients: Path, served: Served
) -> None:
    done = node(
        "dataset_splits.mjs",
        {"baseUrl": served.base_url, "headers": served.headers, "datasetName": "split in node"},
    )

    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == {
        "whole": ["2 + 2?", "3 + 3?", "4 + 4?"],
        "train": ["2 + 2?", "3 + 3?"],
        "test": ["3 + 3?", "5 + 5?"],
    }
