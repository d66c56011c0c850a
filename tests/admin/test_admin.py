import re
from collections.abc import Callable
from datetime import timedelta

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group
from django.db import connection
from django.db.models import Model
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from phoenix_annot.accounts.models import ApiKey, InvalidApiKeyWindow, ProjectMembership, User
from phoenix_annot.accounts.services import api_key_create, api_key_digest, user_for_api_key
from phoenix_annot.annotations.bulk import BulkLabel, annotations_bulk_label
from phoenix_annot.annotations.models import (
    AnnotationBulkAction,
    AnnotationBulkPrior,
    AnnotationConfig,
    AnnotationEvent,
    DocumentAnnotation,
    PendingAnnotation,
    ProjectAnnotationConfig,
    RetrievalMetrics,
    SessionAnnotation,
    SpanAnnotation,
    TraceAnnotation,
)
from phoenix_annot.annotations.services import AnnotationWrite, document_annotations_upsert
from phoenix_annot.corrections.models import Correction, CorrectionEvent, CorrectionTarget, CorrectionVia
from phoenix_annot.corrections.services import correction_save
from phoenix_annot.datasets.models import (
    Dataset,
    DatasetExample,
    DatasetSplit,
    DatasetSplitExample,
    DatasetVersion,
    ExampleRevision,
)
from phoenix_annot.queues.models import (
    AnnotationQueue,
    QueueConfig,
    QueueItem,
    QueueReservation,
    QueueReview,
    QueueReviewer,
    QueueRule,
)
from phoenix_annot.tracing.models import Project, Session, Span, Trace
from tests.annotations.factories import AnnotationEventFactory
from tests.corrections.factories import CorrectionFactory
from tests.factories import (
    AnnotationConfigFactory,
    DatasetExampleFactory,
    DatasetFactory,
    DatasetSplitExampleFactory,
    DatasetSplitFactory,
    DatasetVersionFactory,
    DocumentAnnotationFactory,
    ExampleRevisionFactory,
    ProjectFactory,
    SessionAnnotationFactory,
    SessionFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceAnnotationFactory,
    TraceFactory,
    UserFactory,
)
from tests.queues.factories import (
    AnnotationQueueFactory,
    QueueItemFactory,
    QueueReservationFactory,
    QueueReviewFactory,
    QueueRuleFactory,
)

pytestmark = pytest.mark.django_db

RAW_KEY = re.compile(r"pa_[\w-]{43}")


def api_key_made(**kwargs: object) -> ApiKey:
    api_key, _raw_key = api_key_create(user=UserFactory(), name="exporter", **kwargs)
    return api_key


def pending_annotation_made() -> PendingAnnotation:
    return PendingAnnotation.objects.create(
        target="span",
        target_id="00000000000000ff",
        name="correctness",
        label="correct",
        annotator_kind="LLM",
        expires_at=timezone.now() + timedelta(minutes=10),
    )


def login_record_made(model: type[AccessAttempt | AccessLog | AccessFailureLog]) -> Callable[[], Model]:
    """django-axes's records of logins, which an admin reads and deletes to lift a lockout."""
    fields = {"username": "alice", "ip_address": "10.0.0.1", "user_agent": "", "path_info": "/login/"}
    if model is AccessAttempt:
        fields.update(get_data="", post_data="", failures_since_start=10)
    return lambda: model.objects.create(**fields)


def retrieval_metrics_made() -> RetrievalMetrics:
    span = SpanFactory(span_kind="RETRIEVER", attributes={"retrieval": {"documents": [{"document": {}}]}})
    document_annotations_upsert(
        writes=[AnnotationWrite(span.span_id, "relevance", "LLM", score=1.0, document_position=0)],
        source="API",
        user=None,
    )
    return RetrievalMetrics.objects.get(span=span)


def bulk_action_made() -> AnnotationBulkAction:
    """A bulk label that replaced one annotation, so that its page shows the row's prior owner."""
    annotation = SpanAnnotationFactory(annotator_kind="HUMAN")
    annotation.span.project.annotation_configs.add(AnnotationConfigFactory())
    action = annotations_bulk_label(
        project=annotation.span.project,
        target_kind="span",
        targets=Span.objects.filter(pk=annotation.span_id),
        label=BulkLabel(name="correctness", label="incorrect"),
        user=None,
    )
    assert AnnotationBulkPrior.objects.filter(action=action).exists()
    return action


OBJECT_FACTORIES: dict[type[Model], Callable[[], Model]] = {
    User: UserFactory,
    Group: lambda: Group.objects.create(name="reviewers"),
    ApiKey: api_key_made,
    Project: ProjectFactory,
    Session: SessionFactory,
    Trace: TraceFactory,
    Span: SpanFactory,
    AnnotationConfig: AnnotationConfigFactory,
    SpanAnnotation: SpanAnnotationFactory,
    PendingAnnotation: pending_annotation_made,
    TraceAnnotation: TraceAnnotationFactory,
    SessionAnnotation: SessionAnnotationFactory,
    DocumentAnnotation: DocumentAnnotationFactory,
    RetrievalMetrics: retrieval_metrics_made,
    AnnotationEvent: AnnotationEventFactory,
    AnnotationBulkAction: bulk_action_made,
    Dataset: DatasetFactory,
    DatasetVersion: DatasetVersionFactory,
    DatasetExample: DatasetExampleFactory,
    DatasetSplit: DatasetSplitFactory,
    DatasetSplitExample: DatasetSplitExampleFactory,
    ExampleRevision: ExampleRevisionFactory,
    AnnotationQueue: AnnotationQueueFactory,
    QueueItem: QueueItemFactory,
    QueueReservation: QueueReservationFactory,
    QueueReview: QueueReviewFactory,
    QueueRule: QueueRuleFactory,
    Correction: CorrectionFactory,
    CorrectionEvent: lambda: correction_event_made(),
    InvalidApiKeyWindow: lambda: InvalidApiKeyWindow.objects.create(
        address="10.0.0.1", failures=20, window_start=timezone.now()
    ),
    AccessAttempt: login_record_made(AccessAttempt),
    AccessLog: login_record_made(AccessLog),
    AccessFailureLog: login_record_made(AccessFailureLog),
}
# Written only by ingestion and the API; dataset history is never edited in place.
VIEW_AND_DELETE_ONLY = [
    Session,
    Trace,
    Span,
    PendingAnnotation,
    RetrievalMetrics,
    DatasetVersion,
    ExampleRevision,
    InvalidApiKeyWindow,
    QueueItem,
    QueueReservation,
    QueueReview,
    QueueRule,
]
# The annotation history is never edited nor deleted (tests/annotations/test_history_admin.py).
# Corrections change only through their services, which record each change (corrections/admin.py).
VIEW_ONLY = {AnnotationEvent, AnnotationBulkAction, Correction, CorrectionEvent}
# django-axes writes these; its admin shows them read-only.
LOGIN_RECORDS = {AccessAttempt, AccessLog, AccessFailureLog}
# Edited through the AnnotationConfig, AnnotationQueue, Project and User pages, as inlines.
INLINE_ONLY = {ProjectAnnotationConfig, QueueConfig, QueueReviewer, ProjectMembership, AnnotationBulkPrior}


def correction_event_made() -> CorrectionEvent:
    """The event a reviewer's correction of a span writes."""
    correction_save(
        kind=CorrectionTarget.SPAN,
        target=SpanFactory(),
        output="The corrected answer.",
        user=UserFactory(),
        via=CorrectionVia.PAGE,
    )
    return CorrectionEvent.objects.latest("pk")


def admin_url(model: type[Model], view: str, *args: object) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_{view}", args=args)


def test_every_model_of_the_project_apps_is_registered_and_every_registered_model_is_smoke_tested() -> None:
    own_models = {
        model
        for label in ("accounts", "tracing", "annotations", "datasets", "queues", "corrections")
        for model in apps.get_app_config(label).get_models()
    }
    registered = {model for model in apps.get_models() if admin.site.is_registered(model)}

    assert own_models - INLINE_ONLY <= registered
    assert registered == set(OBJECT_FACTORIES)


@pytest.mark.parametrize("model", OBJECT_FACTORIES, ids=lambda model: model.__name__)
def test_changelist_and_change_page_render_for_a_superuser(
    admin_client_logged_in: Client, model: type[Model]
) -> None:
    obj = OBJECT_FACTORIES[model]()

    assert admin_client_logged_in.get(admin_url(model, "changelist")).status_code == 200
    assert admin_client_logged_in.get(admin_url(model, "change", obj.pk)).status_code == 200


@pytest.mark.parametrize("model", OBJECT_FACTORIES, ids=lambda model: model.__name__)
def test_add_page_renders_for_every_model_but_those_the_admin_may_not_create(
    admin_client_logged_in: Client, model: type[Model]
) -> None:
    expected_status = 403 if model in {*VIEW_AND_DELETE_ONLY, *VIEW_ONLY, *LOGIN_RECORDS} else 200

    assert admin_client_logged_in.get(admin_url(model, "add")).status_code == expected_status


@pytest.mark.parametrize("model", VIEW_AND_DELETE_ONLY, ids=lambda model: model.__name__)
def test_view_and_delete_only_rows_cannot_be_changed_in_the_admin(
    admin_client_logged_in: Client, model: type[Model]
) -> None:
    obj = OBJECT_FACTORIES[model]()

    assert admin_client_logged_in.post(admin_url(model, "change", obj.pk), {}).status_code == 403


def test_a_span_can_be_deleted_in_the_admin_with_its_annotations(admin_client_logged_in: Client) -> None:
    annotation = SpanAnnotationFactory()

    response = admin_client_logged_in.post(admin_url(Span, "delete", annotation.span.pk), {"post": "yes"})

    assert response.status_code == 302
    assert not Span.objects.exists()
    assert not SpanAnnotation.objects.exists()


def test_searching_spans_by_span_id_or_trace_id_finds_the_span(admin_client_logged_in: Client) -> None:
    span = SpanFactory(name="retrieve-documents")
    SpanFactory.create_batch(3)

    for term in (span.span_id, span.span_id.upper(), span.trace.trace_id, "retrieve-doc"):
        response = admin_client_logged_in.get(admin_url(Span, "changelist"), {"q": term})
        assert list(response.context["cl"].result_list) == [span], term


def test_searching_a_full_span_or_trace_id_matches_it_exactly_instead_of_scanning_with_like(
    admin_client_logged_in: Client,
) -> None:
    span = SpanFactory()

    for term in (span.span_id, span.trace.trace_id):
        with CaptureQueriesContext(connection) as queries:
            admin_client_logged_in.get(admin_url(Span, "changelist"), {"q": term})
        assert not [query for query in queries.captured_queries if "LIKE" in query["sql"].upper()], term


def test_searching_traces_by_trace_id_or_root_span_name_finds_the_trace(
    admin_client_logged_in: Client,
) -> None:
    trace = TraceFactory(root_span_name="agent-run")
    TraceFactory.create_batch(2)

    for term in (trace.trace_id, "agent-r"):
        response = admin_client_logged_in.get(admin_url(Trace, "changelist"), {"q": term})
        assert list(response.context["cl"].result_list) == [trace], term


def test_trace_page_links_to_the_changelist_of_its_spans(admin_client_logged_in: Client) -> None:
    trace = TraceFactory(span_count=2)
    spans = SpanFactory.create_batch(2, trace=trace)
    SpanFactory()

    page = admin_client_logged_in.get(admin_url(Trace, "change", trace.pk)).content.decode()
    link = re.search(r'href="([^"]*)">2 span\(s\)', page)
    assert link is not None
    response = admin_client_logged_in.get(link.group(1))

    assert set(response.context["cl"].result_list) == set(spans)


def test_span_page_shows_its_annotations_inline(admin_client_logged_in: Client) -> None:
    span = SpanFactory()
    annotation = SpanAnnotationFactory(span=span, label="incorrect", explanation="Lyon is not the capital.")
    SpanAnnotationFactory(label="other span's label")

    page = admin_client_logged_in.get(admin_url(Span, "change", span.pk)).content.decode()

    assert "Lyon is not the capital." in page
    assert admin_url(SpanAnnotation, "change", annotation.pk) in page
    assert "other span&#x27;s label" not in page


def test_span_page_query_count_does_not_grow_with_its_annotations(
    admin_client_logged_in: Client, django_assert_max_num_queries: Callable
) -> None:
    span = SpanFactory()
    url = admin_url(Span, "change", span.pk)
    SpanAnnotationFactory(span=span, user=UserFactory())
    with CaptureQueriesContext(connection) as one_annotation:
        admin_client_logged_in.get(url)
    for index in range(10):
        SpanAnnotationFactory(span=span, identifier=f"px-app:{index}", user=UserFactory())

    with django_assert_max_num_queries(len(one_annotation.captured_queries)):
        admin_client_logged_in.get(url)


def test_trace_page_shows_its_annotations_inline(admin_client_logged_in: Client) -> None:
    annotation = TraceAnnotationFactory(label="thumbs-down")

    page = admin_client_logged_in.get(admin_url(Trace, "change", annotation.trace.pk)).content.decode()

    assert "thumbs-down" in page
    assert admin_url(TraceAnnotation, "change", annotation.pk) in page


def test_script_in_span_attributes_is_escaped_on_the_span_page(admin_client_logged_in: Client) -> None:
    span = SpanFactory(
        attributes={"input": {"value": "<script>alert(1)</script>"}},
        events=[{"name": "exception", "attributes": {"exception.message": "<script>alert(2)</script>"}}],
    )

    page = admin_client_logged_in.get(admin_url(Span, "change", span.pk)).content.decode()

    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in page
    assert "<script>alert(" not in page


def test_span_changelist_query_count_does_not_grow_with_rows(
    admin_client_logged_in: Client, django_assert_max_num_queries: Callable
) -> None:
    url = admin_url(Span, "changelist")
    SpanAnnotationFactory()
    with CaptureQueriesContext(connection) as few_rows:
        admin_client_logged_in.get(url)

    # Each in its own trace and project, so that any per-row foreign key lookup would show.
    SpanAnnotationFactory.create_batch(20)

    with django_assert_max_num_queries(len(few_rows.captured_queries)):
        response = admin_client_logged_in.get(url)
    assert len(response.context["cl"].result_list) == 21


def test_dataset_changelist_counts_examples_in_the_page_query(
    admin_client_logged_in: Client, django_assert_max_num_queries: Callable
) -> None:
    dataset = DatasetFactory()
    DatasetExampleFactory.create_batch(3, dataset=dataset)
    DatasetFactory()
    with CaptureQueriesContext(connection) as two_datasets:
        admin_client_logged_in.get(admin_url(Dataset, "changelist"))
    DatasetExampleFactory.create_batch(5)

    with django_assert_max_num_queries(len(two_datasets.captured_queries)):
        response = admin_client_logged_in.get(admin_url(Dataset, "changelist"))

    counts = {row.name: row.example_count for row in response.context["cl"].result_list}
    assert counts[dataset.name] == 3
    assert sorted(counts.values()) == [0, 1, 1, 1, 1, 1, 3]


def test_creating_an_api_key_in_the_admin_stores_only_its_hash_and_shows_the_raw_key_once(
    admin_client_logged_in: Client,
) -> None:
    owner = UserFactory()

    response = admin_client_logged_in.post(
        admin_url(ApiKey, "add"), {"user": owner.pk, "name": "otel exporter"}, follow=True
    )

    messages = [str(message) for message in response.context["messages"]]
    raw_keys = [raw_key for message in messages for raw_key in RAW_KEY.findall(message)]
    assert len(raw_keys) == 1
    raw_key = raw_keys[0]
    assert response.content.decode().count(raw_key) == 1
    api_key = ApiKey.objects.get()
    assert (api_key.user, api_key.name) == (owner, "otel exporter")
    assert api_key.key_hash == api_key_digest(raw_key)
    assert raw_key not in {str(value) for value in ApiKey.objects.values().get().values()}
    assert user_for_api_key(raw_key) == owner
    assert raw_key not in admin_client_logged_in.get(admin_url(ApiKey, "changelist")).content.decode()
    assert raw_key not in admin_client_logged_in.get(admin_url(ApiKey, "change", api_key.pk)).content.decode()


def test_api_key_pages_never_show_the_key_hash(admin_client_logged_in: Client) -> None:
    api_key = api_key_made()

    for url in (admin_url(ApiKey, "changelist"), admin_url(ApiKey, "change", api_key.pk)):
        assert api_key.key_hash not in admin_client_logged_in.get(url).content.decode()


def test_revoke_action_makes_the_selected_keys_unusable(admin_client_logged_in: Client) -> None:
    owner = UserFactory()
    revoked, revoked_raw = api_key_create(user=owner, name="old")
    _kept, kept_raw = api_key_create(user=owner, name="current")

    response = admin_client_logged_in.post(
        admin_url(ApiKey, "changelist"),
        {"action": "revoke_selected", admin.helpers.ACTION_CHECKBOX_NAME: [revoked.pk]},
        follow=True,
    )

    assert [str(message) for message in response.context["messages"]] == ["Revoked 1 API key(s)."]
    assert user_for_api_key(revoked_raw) is None
    assert user_for_api_key(kept_raw) == owner


def test_api_key_state_filter_tells_usable_revoked_and_expired_keys_apart(
    admin_client_logged_in: Client,
) -> None:
    usable = api_key_made()
    revoked = api_key_made(expires_at=timezone.now() + timedelta(days=1))
    ApiKey.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    expired = api_key_made(expires_at=timezone.now() - timedelta(days=1))

    def listed(state: str) -> list[ApiKey]:
        response = admin_client_logged_in.get(admin_url(ApiKey, "changelist"), {"state": state})
        return list(response.context["cl"].result_list)

    assert listed("usable") == [usable]
    assert listed("revoked") == [revoked]
    assert listed("expired") == [expired]


def test_user_admin_sets_the_role_of_a_new_user(admin_client_logged_in: Client) -> None:
    response = admin_client_logged_in.post(
        admin_url(User, "add"),
        {
            "username": "viewer1",
            "usable_password": "true",
            "password1": "a-long-Passphrase-7",
            "password2": "a-long-Passphrase-7",
            "role": "VIEWER",
        },
    )

    assert response.status_code == 302
    assert User.objects.get(username="viewer1").role == User.Role.VIEWER


def annotation_form_data(annotation: SpanAnnotation, **changes: str) -> dict[str, object]:
    return {
        "span": annotation.span.pk,
        "name": annotation.name,
        "label": annotation.label or "",
        "score": "" if annotation.score is None else annotation.score,
        "explanation": annotation.explanation or "",
        "metadata": "{}",
        "annotator_kind": annotation.annotator_kind,
        "identifier": annotation.identifier,
        "source": annotation.source,
        "user": "",
        **changes,
    }


def test_annotation_admin_refuses_a_label_its_config_does_not_allow(admin_client_logged_in: Client) -> None:
    annotation = SpanAnnotationFactory(name="correctness", label="correct")
    AnnotationConfigFactory(name="correctness").projects.add(annotation.span.project)

    response = admin_client_logged_in.post(
        admin_url(SpanAnnotation, "change", annotation.pk), annotation_form_data(annotation, label="maybe")
    )

    assert response.status_code == 200
    assert "label" in response.context["adminform"].form.errors
    annotation.refresh_from_db()
    assert annotation.label == "correct"


def test_annotation_admin_edits_an_existing_note_but_refuses_the_note_name_for_other_annotations(
    admin_client_logged_in: Client,
) -> None:
    note = SpanAnnotationFactory(name="note", label=None, score=None, explanation="typo hre")
    other = SpanAnnotationFactory(name="correctness")

    fixed = admin_client_logged_in.post(
        admin_url(SpanAnnotation, "change", note.pk), annotation_form_data(note, explanation="typo here")
    )
    renamed = admin_client_logged_in.post(
        admin_url(SpanAnnotation, "change", other.pk), annotation_form_data(other, name="note")
    )

    assert fixed.status_code == 302
    note.refresh_from_db()
    assert note.explanation == "typo here"
    assert "name" in renamed.context["adminform"].form.errors


def test_annotation_config_page_assigns_the_config_to_projects(admin_client_logged_in: Client) -> None:
    project = ProjectFactory()

    response = admin_client_logged_in.post(
        admin_url(AnnotationConfig, "add"),
        {
            "name": "helpfulness",
            "type": "CONTINUOUS",
            "optimization_direction": "MAXIMIZE",
            "description": "",
            "values": "[]",
            "lower_bound": "0",
            "upper_bound": "1",
            "threshold": "",
            "projectannotationconfig_set-TOTAL_FORMS": "1",
            "projectannotationconfig_set-INITIAL_FORMS": "0",
            "projectannotationconfig_set-0-project": project.pk,
        },
    )

    assert response.status_code == 302
    assert list(AnnotationConfig.objects.get(name="helpfulness").projects.all()) == [project]
