from django.contrib.auth import views as auth_views
from django.urls import path, reverse_lazy

from .views import agreement, annotations, api_keys, configs, datasets, projects, sessions, spans, traces

app_name = "web"

urlpatterns = [
    path("", projects.project_list, name="projects"),
    path("login/", auth_views.LoginView.as_view(), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("projects/<int:pk>/", spans.span_list, name="spans"),
    path("projects/<int:pk>/traces/", spans.span_list, {"tab": "traces"}, name="traces"),
    path("projects/<int:pk>/sessions/", sessions.session_list, name="sessions"),
    path("projects/<int:pk>/agreement/", agreement.agreement, name="agreement"),
    path("projects/<int:pk>/agreement/disagreements/", agreement.disagreements, name="disagreements"),
    path("sessions/<int:pk>/", sessions.session_detail, name="session"),
    path("traces/<str:trace_id>/", traces.trace_detail, name="trace"),
    path("traces/<str:trace_id>/tree/", traces.trace_tree, name="trace-tree"),
    path("spans/<str:span_id>/", traces.span_redirect, name="span-redirect"),
    path("annotate/<str:kind>/<str:key>/", annotations.annotate, name="annotate"),
    path("annotate/<str:kind>/<str:key>/undo/", annotations.annotation_undo, name="annotation-undo"),
    path("annotations/<str:kind>/<int:pk>/delete/", annotations.annotation_delete, name="annotation-delete"),
    path(
        "annotate/document/<str:span_id>/<int:position>/",
        annotations.document_annotate,
        name="annotate-document",
    ),
    path("settings/api-keys/", api_keys.api_keys, name="api-keys"),
    path("settings/api-keys/<int:pk>/revoke/", api_keys.api_key_revoke_view, name="api-key-revoke"),
    path(
        "settings/password/",
        auth_views.PasswordChangeView.as_view(
            template_name="accounts/password_change.html",
            success_url=reverse_lazy("web:password-change-done"),
        ),
        name="password-change",
    ),
    path(
        "settings/password/done/",
        auth_views.PasswordChangeDoneView.as_view(template_name="accounts/password_change_done.html"),
        name="password-change-done",
    ),
    path("configs/", configs.config_list, name="configs"),
    path("configs/new/", configs.config_edit, name="config-new"),
    path("configs/<int:pk>/", configs.config_edit, name="config-edit"),
    path("datasets/", datasets.dataset_list, name="datasets"),
    path("datasets/add-spans/", datasets.dataset_add_spans_view, name="dataset-add-spans"),
    path("datasets/add-sessions/", sessions.dataset_add_sessions_view, name="dataset-add-sessions"),
    path("datasets/<int:pk>/", datasets.dataset_detail, name="dataset"),
    path("datasets/<int:pk>/export/<str:export>/", datasets.dataset_export, name="dataset-export"),
    path("datasets/<int:pk>/split/", datasets.dataset_split_randomly_view, name="dataset-split-randomly"),
    path(
        "datasets/<int:pk>/examples/<int:example_pk>/edit/",
        datasets.dataset_example_edit,
        name="dataset-example-edit",
    ),
    path(
        "datasets/<int:pk>/examples/<int:example_pk>/delete/",
        datasets.dataset_example_delete_view,
        name="dataset-example-delete",
    ),
]
