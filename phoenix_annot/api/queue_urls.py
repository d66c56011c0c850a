from django.urls import path

from .views import queues

QUEUE = "annotation_queues/<str:queue_id>"
ITEM = f"{QUEUE}/items/<str:item_id>"

urlpatterns = [
    path("annotation_queues", queues.QueueListView.as_view(), name="annotation-queues"),
    path(QUEUE, queues.QueueDetailView.as_view(), name="annotation-queue"),
    path(f"{QUEUE}/items", queues.QueueItemsView.as_view(), name="annotation-queue-items"),
    path(f"{QUEUE}/rules", queues.QueueRulesView.as_view(), name="annotation-queue-rules"),
    path(
        "annotation_queue_rules/<str:rule_id>",
        queues.QueueRuleDetailView.as_view(),
        name="annotation-queue-rule",
    ),
    path(f"{QUEUE}/next", queues.QueueNextView.as_view(), name="annotation-queue-next"),
    path(f"{ITEM}/submit", queues.ItemSubmitView.as_view(), name="annotation-queue-item-submit"),
    path(f"{ITEM}/skip", queues.ItemSkipView.as_view(), name="annotation-queue-item-skip"),
    path(f"{ITEM}/release", queues.ItemReleaseView.as_view(), name="annotation-queue-item-release"),
]
