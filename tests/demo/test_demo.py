import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth.models import Permission
from django.core.management import call_command
from django.db import transaction
from django.db.models import Sum
from django.test import Client, override_settings

from phoenix_annot.accounts.models import User
from phoenix_annot.agreement.alignment import JudgeQuery
from phoenix_annot.agreement.ratings import Target
from phoenix_annot.annotations.models import (
    AnnotationConfig,
    DocumentAnnotation,
    ProjectAnnotationConfig,
    SessionAnnotation,
    SpanAnnotation,
)
from phoenix_annot.datasets.models import Dataset, DatasetSplitExample, DatasetVersion
from phoenix_annot.datasets.selectors import dataset_latest_version, splits_at_version
from phoenix_annot.demo.management.commands import demo
from phoenix_annot.demo.traces import PROJECT_NAMES, SUPPORT_PROJECT, WEATHER_PROJECT, demo_scenario
from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.tracing.models import Project, Session, Span, SpanKind, StatusCode, Trace
from tests.compat.served import ROOT, server_env

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("demo_loaded")]


@pytest.fixture(scope="module")
def demo_loaded(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """The demo, loaded once for this module and rolled back after it; each test runs in a savepoint."""
    # The default hasher is slow on purpose; these tests only check that the right password works.
    fast_hasher = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with fast_hasher, django_db_blocker.unblock(), transaction.atomic():
        run_demo()
        yield
        transaction.set_rollback(True)


def run_demo(*args: str) -> str:
    out = StringIO()
    # The suite's database may be PostgreSQL; the refusals are tested in processes of their own below.
    call_command("demo", "--no-serve", "--allow-any-database", *args, stdout=out)
    return out.getvalue()


def demo_process(database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`manage.py demo --no-serve` as a person runs it, on this database."""
    env = {**server_env(ROOT / "unused.sqlite3", v1_auth=True), "DATABASE_URL": database_url}
    return subprocess.run(
        [sys.executable, "manage.py", "demo", "--no-serve", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def counts() -> dict[str, int]:
    return {
        "projects": Project.objects.count(),
        "traces": Trace.objects.count(),
        "spans": Span.objects.count(),
        "annotations": SpanAnnotation.objects.count(),
        "sessions": Session.objects.count(),
        "session annotations": SessionAnnotation.objects.count(),
        "document annotations": DocumentAnnotation.objects.count(),
        "users": User.objects.count(),
        "configs": AnnotationConfig.objects.count(),
        "project configs": ProjectAnnotationConfig.objects.count(),
        "dataset versions": DatasetVersion.objects.count(),
        "split memberships": DatasetSplitExample.objects.count(),
    }


def test_demo_loads_chain_retriever_llm_and_tool_spans_into_two_projects() -> None:
    projects = set(Span.objects.values_list("project__name", flat=True))
    kinds = set(Span.objects.values_list("span_kind", flat=True))
    assert projects >= set(PROJECT_NAMES)
    assert kinds >= {SpanKind.CHAIN, SpanKind.RETRIEVER, SpanKind.EMBEDDING, SpanKind.LLM, SpanKind.TOOL}
    assert 60 <= Trace.objects.filter(project__name__in=PROJECT_NAMES).count() <= 100


def test_demo_spans_nest_under_parents_of_their_own_trace() -> None:
    parents = dict(Span.objects.values_list("span_id", "trace_id"))
    children = Span.objects.filter(parent_id__isnull=False)
    assert children.exists()
    assert all(parents[child.parent_id] == child.trace_id for child in children)
    embedding = Span.objects.filter(span_kind=SpanKind.EMBEDDING).first()
    retriever = Span.objects.get(span_id=embedding.parent_id)
    assert retriever.span_kind == SpanKind.RETRIEVER
    assert Span.objects.get(span_id=retriever.parent_id).parent_id is None


def test_demo_records_errors_with_exception_events() -> None:
    errors = Span.objects.filter(status_code=StatusCode.ERROR)
    assert errors.filter(span_kind=SpanKind.TOOL).exists()
    assert errors.filter(span_kind=SpanKind.LLM).exists()
    for span in errors:
        assert span.status_message
        assert span.events[0]["name"] == "exception"
        assert span.events[0]["attributes"]["exception.stacktrace"].startswith("Traceback")
        assert span.start_time <= datetime.fromisoformat(span.events[0]["timestamp"]) <= span.end_time
    assert Trace.objects.filter(error_count__gt=0).exists()


def test_demo_llm_spans_carry_models_messages_and_token_counts() -> None:
    llm_spans = Span.objects.filter(span_kind=SpanKind.LLM, status_code=StatusCode.OK)
    assert llm_spans.exists()
    assert not llm_spans.filter(llm_token_count_total__isnull=True).exists()
    assert not llm_spans.filter(llm_model_name="").exists()
    span = llm_spans.first()
    assert span.llm_token_count_total == span.llm_token_count_prompt + span.llm_token_count_completion
    assert span.attributes["llm"]["input_messages"][0]["message"]["role"] == "system"
    assert span.attributes["llm"]["output_messages"][0]["message"]["role"] == "assistant"
    assert isinstance(span.attributes["llm"]["invocation_parameters"], str)
    assert Trace.objects.filter(llm_token_count_total__gt=0).exists()


def test_demo_tool_calls_appear_in_messages_and_tool_spans() -> None:
    tool = Span.objects.filter(span_kind=SpanKind.TOOL, status_code=StatusCode.OK).first()
    assert tool.attributes["tool"]["name"] == tool.name
    assert tool.attributes["tool"]["parameters"]["type"] == "object"
    assert tool.input_mime_type == "application/json"
    caller = (
        Span.objects.filter(trace_id=tool.trace_id, span_kind=SpanKind.LLM).order_by("start_time").first()
    )
    call = caller.attributes["llm"]["output_messages"][0]["message"]["tool_calls"][0]["tool_call"]
    assert call["function"]["name"]


def test_demo_genai_agent_reads_like_the_openinference_ones() -> None:
    spans = Span.objects.filter(project__name=WEATHER_PROJECT)
    assert set(spans.values_list("span_kind", flat=True)) == {SpanKind.AGENT, SpanKind.LLM, SpanKind.TOOL}
    agent = spans.filter(span_kind=SpanKind.AGENT).first()
    assert agent.input_value.endswith("?") and agent.output_value
    answer = spans.filter(span_kind=SpanKind.LLM, output_mime_type="text/plain").first()
    assert answer.output_value and answer.llm_model_name == "gpt-4.1-mini"
    assert "input_messages" not in answer.attributes["llm"]  # the conversation is GenAI's alone
    assert answer.llm_token_count_total == answer.llm_token_count_prompt + answer.llm_token_count_completion
    tool = spans.filter(span_kind=SpanKind.TOOL).first()
    assert tool.input_mime_type == "application/json" and tool.output_value


def test_demo_retriever_spans_hold_documents_as_nested_lists() -> None:
    retriever = Span.objects.filter(span_kind=SpanKind.RETRIEVER).first()
    documents = retriever.attributes["retrieval"]["documents"]
    assert isinstance(documents, list)
    assert len(documents) >= 3
    document = documents[0]["document"]
    assert document["id"] and document["content"]
    assert isinstance(document["score"], float)
    assert document["metadata"]["url"].startswith("https://")


def test_demo_roots_carry_session_user_and_parsed_metadata() -> None:
    root = Span.objects.filter(parent_id__isnull=True, project__name="support-rag").first()
    assert root.attributes["session"]["id"]
    assert root.attributes["user"]["id"]
    assert root.attributes["metadata"]["experiment"] == "support-model-ab"


def test_demo_adds_llm_evaluations_under_configs_assigned_to_the_projects() -> None:
    evals = SpanAnnotation.objects.filter(annotator_kind="LLM", identifier="demo-evals")
    assert set(evals.values_list("name", flat=True)) == {"correctness", "hallucination", "relevance"}
    assert set(evals.filter(name="correctness").values_list("label", flat=True)) == {"correct", "incorrect"}
    assert set(evals.filter(name="relevance").values_list("span__span_kind", flat=True)) == {
        SpanKind.RETRIEVER
    }
    assert not evals.filter(explanation="").exists()
    for project in Project.objects.filter(name__in=PROJECT_NAMES):
        assigned = set(project.annotation_configs.values_list("name", flat=True))
        assert assigned == {"correctness", "hallucination", "outcome", "relevance", "user_feedback"}
    assert AnnotationConfig.objects.get(name="hallucination").optimization_direction == "MINIMIZE"


def test_demo_conversations_of_several_turns_are_sessions_with_outcomes_some_without_a_score() -> None:
    sessions = Session.objects.filter(project__name__in=PROJECT_NAMES)

    assert sessions.filter(trace_count__gte=2).exists()
    assert sessions.aggregate(turns=Sum("trace_count"))["turns"] == Trace.objects.count()
    outcomes = SessionAnnotation.objects.filter(name="outcome")
    assert outcomes.count() == sessions.count()
    assert set(outcomes.values_list("label", flat=True)) == {"resolved", "unresolved", "unknown"}
    assert not outcomes.filter(label="unknown", score__isnull=False).exists()


def test_demo_retrievers_have_each_document_judged_within_their_documents() -> None:
    judged = DocumentAnnotation.objects.filter(name="relevance").select_related("span")

    assert judged.filter(label="relevant").exists() and judged.filter(label="irrelevant").exists()
    for annotation in judged[:20]:
        assert annotation.span.span_kind == "RETRIEVER"
        assert annotation.document_position < len(annotation.span.attributes["retrieval"]["documents"])


def test_the_demo_dataset_holds_the_support_llm_calls_split_80_20_into_train_and_test() -> None:
    dataset = Dataset.objects.get(name=demo.DEMO_DATASET)
    version = dataset_latest_version(dataset=dataset)
    llm_calls = Span.objects.filter(project__name=SUPPORT_PROJECT, span_kind=SpanKind.LLM).count()

    counts = {split.name: split.example_count for split in splits_at_version(version=version)}

    assert counts == {"train": round(llm_calls * 0.8), "test": llm_calls - round(llm_calls * 0.8)}


def test_running_the_demo_again_duplicates_nothing() -> None:
    loaded_once = counts()

    output = run_demo()

    assert counts() == loaded_once
    assert "0 new spans" in output


def test_the_demo_user_can_log_in_with_the_demo_password_but_not_open_the_admin() -> None:
    user = User.objects.get(username="demo")
    assert (user.role, user.is_staff, user.is_superuser) == (User.Role.ANNOTATOR, False, False)
    client = Client()

    logged_in = client.post("/login/", {"username": "demo", "password": "demo"})
    admin = client.get("/admin/")

    assert logged_in.status_code == 302 and logged_in["Location"] == "/"
    assert admin.status_code == 302 and admin["Location"].startswith("/admin/login/")


def test_the_demo_takes_staff_and_admin_permissions_from_a_demo_user_an_older_demo_made() -> None:
    user = User.objects.get(username="demo")
    user.is_staff = True
    user.save()
    user.user_permissions.add(*Permission.objects.filter(content_type__app_label="tracing"))

    run_demo()

    user = User.objects.get(username="demo")
    assert not user.is_staff
    assert not user.user_permissions.exists()


def test_the_demo_gives_an_existing_demo_user_the_demo_password_back() -> None:
    user = User.objects.get(username="demo")
    user.set_password("something-else")
    user.role = User.Role.VIEWER
    user.save()

    run_demo()

    user.refresh_from_db()
    assert user.check_password("demo")
    assert user.role == User.Role.VIEWER


def test_the_demo_reviewers_labels_give_the_llm_judge_a_judge_alignment_report() -> None:
    rows = Span.objects.filter(project__name=SUPPORT_PROJECT)
    query = JudgeQuery(name="correctness", target=Target.SPAN, rows=rows)

    report = query.report(query.judges()[0])

    assert report.judge.kind == "LLM"
    assert report.figures.items == demo.DEMO_REVIEWS
    assert report.disagreement_count == demo.DEMO_REVIEWS // demo.DEMO_REVIEW_DISSENT
    assert report.figures.kappa.value is not None


# The demo closes the database connections before it serves: no test that reads the database may
# follow this one in the module's shared transaction (PostgreSQL then finds its connection closed).
def test_the_demo_serves_with_gunicorn_on_loopback_with_v1_auth_off(
    monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    monkeypatch.setenv("PHOENIX_ANNOT_V1_AUTH_REQUIRED", "true")
    settings.V1_AUTH_REQUIRED = True
    served: list[tuple[dict[str, Any], bool]] = []
    monkeypatch.setattr(
        demo.DemoServer, "run", lambda server: served.append((server.options, settings.V1_AUTH_REQUIRED))
    )
    out = StringIO()

    call_command("demo", "--port", "8123", "--allow-any-database", stdout=out)

    [(options, v1_auth_required)] = served
    assert options["bind"] == "127.0.0.1:8123"
    assert options["worker_class"] == "gthread"
    assert v1_auth_required is False
    assert os.environ["PHOENIX_ANNOT_V1_AUTH_REQUIRED"] == "false"
    assert "http://127.0.0.1:8123/v1/traces" in out.getvalue()


def test_the_scenario_keeps_ids_and_content_and_moves_only_the_time_base() -> None:
    now = datetime(2026, 3, 1, 12, tzinfo=UTC)

    earlier = decode_request(demo_scenario(now=now).request)
    later = decode_request(demo_scenario(now=now + timedelta(days=2)).request)

    assert [(r.span_id, r.attributes) for r in earlier] == [(r.span_id, r.attributes) for r in later]
    assert {r.start_time + timedelta(days=2) for r in earlier} == {r.start_time for r in later}
    assert max(r.end_time for r in earlier) <= now


def test_the_demo_refuses_a_postgresql_database_before_connecting_to_it() -> None:
    # Nothing listens on port 9: the refusal must come before any connection, let alone a migration.
    done = demo_process("postgres://postgres@127.0.0.1:9/production")

    assert done.returncode == 1
    assert "The database is PostgreSQL, not SQLite" in done.stderr
    assert "--allow-any-database" in done.stderr
    assert "connection" not in done.stderr


def test_the_demo_loads_a_fresh_sqlite_file_twice_but_refuses_one_with_other_users(tmp_path) -> None:
    url = f"sqlite:///{tmp_path / 'db.sqlite3'}"
    add_alice = "from phoenix_annot.accounts.models import User; User.objects.create_user('alice')"

    first, again = demo_process(url), demo_process(url)
    subprocess.run(
        [sys.executable, "manage.py", "shell", "-c", add_alice],
        cwd=ROOT,
        env={**os.environ, "DATABASE_URL": url},
        check=True,
        capture_output=True,
    )
    refused = demo_process(url)
    allowed = demo_process(url, "--allow-any-database")

    assert (first.returncode, again.returncode) == (0, 0), first.stderr + again.stderr
    assert "0 new spans" in again.stdout
    assert refused.returncode == 1
    assert "holds 1 user(s) other than 'demo' (alice)" in refused.stderr
    assert "Demo data loaded" not in refused.stdout
    assert allowed.returncode == 0, allowed.stderr
