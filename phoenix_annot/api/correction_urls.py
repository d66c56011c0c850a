from django.urls import path

from .views import corrections

urlpatterns = [
    path("corrections", corrections.CorrectionsView.as_view(), name="corrections"),
    path("corrections/<str:correction_id>", corrections.CorrectionDetailView.as_view(), name="correction"),
    path(
        "projects/<str:identifier>/corrections",
        corrections.ProjectCorrectionsView.as_view(),
        name="project-corrections",
    ),
    path(
        "projects/<str:identifier>/correction_events",
        corrections.ProjectCorrectionEventsView.as_view(),
        name="project-correction-events",
    ),
]
