from django.urls import path

from .views import datasets

urlpatterns = [
    path("datasets", datasets.DatasetListView.as_view(), name="datasets"),
    # Before "datasets/<id>", which would otherwise take "upload" for an id.
    path("datasets/upload", datasets.DatasetUploadView.as_view(), name="dataset-upload"),
    path("datasets/<str:dataset_id>", datasets.DatasetDetailView.as_view(), name="dataset"),
    path(
        "datasets/<str:dataset_id>/versions",
        datasets.DatasetVersionListView.as_view(),
        name="dataset-versions",
    ),
    path(
        "datasets/<str:dataset_id>/examples", datasets.DatasetExamplesView.as_view(), name="dataset-examples"
    ),
    path("datasets/<str:dataset_id>/csv", datasets.DatasetCsvView.as_view(), name="dataset-csv"),
    path("datasets/<str:dataset_id>/jsonl", datasets.DatasetJsonlView.as_view(), name="dataset-jsonl"),
    path(
        "datasets/<str:dataset_id>/jsonl/openai_ft",
        datasets.DatasetOpenAIFineTuningView.as_view(),
        name="dataset-jsonl-openai-ft",
    ),
    path(
        "datasets/<str:dataset_id>/jsonl/openai_evals",
        datasets.DatasetOpenAIEvalsView.as_view(),
        name="dataset-jsonl-openai-evals",
    ),
    path(
        "datasets/<str:dataset_identifier>/splits",
        datasets.DatasetSplitListView.as_view(),
        name="dataset-splits",
    ),
    path(
        "datasets/<str:dataset_identifier>/splits/<str:split_id>",
        datasets.DatasetSplitDetailView.as_view(),
        name="dataset-split",
    ),
]
