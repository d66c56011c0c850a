from django.urls import path

from .views import annotations, projects

urlpatterns = [
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
    path("span_annotations", annotations.SpanAnnotationWriteView.as_view(), name="span-annotations"),
    path("trace_annotations", annotations.TraceAnnotationWriteView.as_view(), name="trace-annotations"),
    path("span_notes", annotations.SpanNoteView.as_view(), name="span-notes"),
]
