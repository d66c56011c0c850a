from django.urls import include, path, register_converter

from .views import (
    agreement,
    alignment,
    annotation_configs,
    annotations,
    bulk,
    documents,
    history,
    projects,
    sessions,
    spans,
)


class AnyText:
    """Any text, slashes and line breaks included: a session.id may hold both (the client percent-encodes
    them), and `path:` stops at a line break."""

    regex = r"[\s\S]+"

    def to_python(self, value: str) -> str:
        return value

    def to_url(self, value: str) -> str:
        return value


register_converter(AnyText, "anytext")

urlpatterns = [
    path("", include("phoenix_annot.api.dataset_urls")),
    path("", include("phoenix_annot.api.queue_urls")),
    path("", include("phoenix_annot.api.correction_urls")),
    path("projects", projects.ProjectListView.as_view(), name="projects"),
    path("projects/<str:identifier>", projects.ProjectDetailView.as_view(), name="project"),
    path(
        "projects/<str:identifier>/span_annotations",
        annotations.ProjectSpanAnnotationsView.as_view(),
        name="project-span-annotations",
    ),
    path(
        "projects/<str:identifier>/trace_annotations",
        annotations.ProjectTraceAnnotationsView.as_view(),
        name="project-trace-annotations",
    ),
    path(
        "projects/<str:identifier>/session_annotations",
        annotations.ProjectSessionAnnotationsView.as_view(),
        name="project-session-annotations",
    ),
    path(
        "projects/<str:identifier>/sessions", sessions.ProjectSessionsView.as_view(), name="project-sessions"
    ),
    path("projects/<str:identifier>/spans", spans.SpanListView.as_view(), name="project-spans"),
    path(
        "projects/<str:identifier>/annotation_events",
        history.ProjectAnnotationEventsView.as_view(),
        name="project-annotation-events",
    ),
    path(
        "projects/<str:identifier>/annotation_agreement",
        agreement.AnnotationAgreementView.as_view(),
        name="project-annotation-agreement",
    ),
    path(
        "projects/<str:identifier>/judge_alignment",
        alignment.JudgeAlignmentView.as_view(),
        name="project-judge-alignment",
    ),
    path(
        "projects/<str:identifier>/annotation_bulk_actions",
        bulk.ProjectBulkActionsView.as_view(),
        name="project-annotation-bulk-actions",
    ),
    path(
        "annotation_bulk_actions/<str:action_id>/undo",
        bulk.BulkActionUndoView.as_view(),
        name="annotation-bulk-action-undo",
    ),
    path("projects/<str:identifier>/traces", spans.TraceListView.as_view(), name="project-traces"),
    path("spans", spans.SpanQueryView.as_view(), name="span-query"),
    path("spans/<str:identifier>", spans.SpanDetailView.as_view(), name="span"),
    path("span_annotations", annotations.SpanAnnotationWriteView.as_view(), name="span-annotations"),
    path("trace_annotations", annotations.TraceAnnotationWriteView.as_view(), name="trace-annotations"),
    path("session_annotations", annotations.SessionAnnotationWriteView.as_view(), name="session-annotations"),
    path(
        "document_annotations", documents.DocumentAnnotationWriteView.as_view(), name="document-annotations"
    ),
    path("span_notes", annotations.SpanNoteView.as_view(), name="span-notes"),
    path(
        "projects/<str:identifier>/document_annotations",
        documents.ProjectDocumentAnnotationsView.as_view(),
        name="project-document-annotations",
    ),
    path("session_notes", annotations.SessionNoteView.as_view(), name="session-notes"),
    path("sessions/delete", sessions.SessionsDeleteView.as_view(), name="sessions-delete"),
    path("sessions/<anytext:identifier>", sessions.SessionDetailView.as_view(), name="session"),
    path("trace_notes", annotations.TraceNoteView.as_view(), name="trace-notes"),
    path(
        "annotation_configs", annotation_configs.AnnotationConfigListView.as_view(), name="annotation-configs"
    ),
    path(
        "annotation_configs/<str:identifier>",
        annotation_configs.AnnotationConfigDetailView.as_view(),
        name="annotation-config",
    ),
    path(
        "projects/<str:identifier>/annotation_configs",
        annotation_configs.ProjectAnnotationConfigListView.as_view(),
        name="project-annotation-configs",
    ),
    path(
        "projects/<str:identifier>/annotation_configs/<str:config_identifier>",
        annotation_configs.ProjectAnnotationConfigView.as_view(),
        name="project-annotation-config",
    ),
]
