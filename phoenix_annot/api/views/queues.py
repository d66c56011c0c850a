"""Review queues over REST (issue 13). Phoenix has no such routes yet: these are our own, in Phoenix's style
(GlobalIDs, `{"data": ...}` envelopes, cursor pages, text/plain errors, FastAPI-shaped 422s).

Reviewing needs a reviewer: next, submit, skip and release answer 401 to a request without a user, also
with auth off. Who may change a queue is its creator or an admin (as for datasets); who may review it is
the queue's rule (services.py).
"""

from collections.abc import Callable
from typing import Any, TypeVar

from django.db.models import QuerySet
from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.exceptions import NotAuthenticated
from rest_framework.permissions import SAFE_METHODS, BasePermission
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from phoenix_annot.accounts.access import visible
from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import AnnotationConfig, AnnotationSource
from phoenix_annot.annotations.services import MissingTargets
from phoenix_annot.core.globalid import GlobalIDError, from_global_id, to_global_id
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.queues.models import (
    MAX_RESERVATION_SECONDS,
    MAX_REVIEWERS_PER_ITEM,
    MAX_SAMPLING_PERCENT,
    MIN_RESERVATION_SECONDS,
    AnnotationQueue,
    Assignment,
    ItemKind,
    ItemState,
    QueueItem,
    QueueReservation,
    QueueRule,
    ReviewOutcome,
)
from phoenix_annot.queues.rules import (
    RuleSaved,
    filter_problems,
    queue_rule_create,
    queue_rule_delete,
    queue_rule_update,
    span_filter_data,
)
from phoenix_annot.queues.selectors import (
    annotation_queues_with_settings,
    item_state,
    queue_item_counts,
    queue_item_rows,
)
from phoenix_annot.queues.services import (
    DuplicateQueueName,
    QueueConfigChoice,
    ReviewAnnotation,
    ReviewRefused,
    annotation_queue_create,
    annotation_queue_delete,
    annotation_queue_update,
    queue_item_next,
    queue_item_release,
    queue_item_skip,
    queue_item_submit,
    queue_items_add,
    queue_items_add_matching,
)
from phoenix_annot.tracing.models import Span

from ..auth import VIEWER_WRITE_DENIED, V1Access
from ..errors import PlainError
from ..lookups import project_for, reached
from ..params import LimitField, LiteralField, NonEmptyText, QueryParams, paginate_desc
from ..schema import PROJECT_NOT_FOUND, cursor_field, data_envelope, errors, global_id_path, page_envelope
from ..wire import envelope, iso, page, validated
from .annotation_configs import TYPE_NAMES as CONFIG_TYPE_NAMES
from .annotations import AnnotationInput, acting_user
from .spans import time_limited_filter

T = TypeVar("T")
QUEUE_TYPE = "AnnotationQueue"
ITEM_TYPE = "AnnotationQueueItem"
REVIEW_TYPE = "AnnotationQueueReview"
RULE_TYPE = "AnnotationQueueRule"
QUEUE_CHANGE_DENIED = "Only admins and the queue's creator can change or delete a queue."
MAX_IDS_PER_ADD = 10_000
MAX_PAGE_SIZE = 1000
MAX_ANNOTATIONS_PER_SUBMIT = 100
TEXT_LENGTH = 255
QUEUE_ID = global_id_path("queue_id", QUEUE_TYPE)
ITEM_ID = global_id_path("item_id", ITEM_TYPE)
RULE_ID = global_id_path("rule_id", RULE_TYPE)
QUEUE_NOT_FOUND = "`Annotation queue with ID <id> not found`."
RULE_NOT_FOUND = "`Annotation queue rule with ID <id> not found`."
ITEM_NOT_FOUND = "`Annotation queue with ID <id> not found` or `Item with ID <id> not found in this queue`."
NO_REVIEWER = "`Missing API key: ...`: a request without a user (auth off and no key) has nobody to review."
NOT_A_REVIEWER = (
    f"`{VIEWER_WRITE_DENIED}`, or `Only the named reviewers of queue '<name>' (and admins) review its items.`"
)


# --- bodies ------------------------------------------------------------------------------------------------


class QueueConfigInput(serializers.Serializer):
    id = serializers.CharField(help_text="An annotation config GlobalID or name.")
    required = serializers.BooleanField(default=False, help_text="Every submit must fill it.")


class QueueInput(serializers.Serializer):
    """A queue's settings; on update, those given replace the queue's, the others stay."""

    name = NonEmptyText(max_length=TEXT_LENGTH, required=False, help_text="Unique within the project.")
    instructions = serializers.CharField(
        allow_blank=True,
        required=False,
        trim_whitespace=False,
        help_text="Markdown, shown beside every item.",
    )
    reviewers_per_item = serializers.IntegerField(
        min_value=1, max_value=MAX_REVIEWERS_PER_ITEM, required=False, help_text="N; 1 when created without."
    )
    assignment = LiteralField(Assignment.values, required=False, help_text="Who may review its items.")
    reviewers = serializers.ListField(
        child=serializers.CharField(),
        max_length=MAX_PAGE_SIZE,
        required=False,
        help_text="User GlobalIDs or usernames: the named reviewers (replaces the list).",
    )
    reservation_timeout_seconds = serializers.IntegerField(
        min_value=MIN_RESERVATION_SECONDS, max_value=MAX_RESERVATION_SECONDS, required=False
    )
    blind = serializers.BooleanField(required=False, help_text="Hide others' labels until one submits.")
    annotation_configs = QueueConfigInput(
        many=True, required=False, help_text="The configs to fill, in order (replaces the list)."
    )


class CreateQueueInput(QueueInput):
    project = serializers.CharField(help_text="The project's GlobalID or name.")
    name = NonEmptyText(max_length=TEXT_LENGTH, help_text="Unique within the project.")


class AddQueueItemsInput(serializers.Serializer):
    span_ids = serializers.ListField(
        child=serializers.CharField(), max_length=MAX_IDS_PER_ADD, required=False
    )
    trace_ids = serializers.ListField(
        child=serializers.CharField(), max_length=MAX_IDS_PER_ADD, required=False
    )
    session_ids = serializers.ListField(
        child=serializers.CharField(), max_length=MAX_IDS_PER_ADD, required=False
    )
    filter = serializers.DictField(
        required=False,
        help_text="SpanFilter parameters, as GET /v1/projects/{identifier}/spans reads them from its query "
        "string (a list for a repeated one): every span of the queue's project that matches, on the server.",
    )
    kind = LiteralField(
        ItemKind.values,
        default=ItemKind.SPAN,
        help_text="With filter: add the spans, their traces or sessions.",
    )

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        given = [name for name in ("span_ids", "trace_ids", "session_ids", "filter") if name in attrs]
        if len(given) != 1:
            raise serializers.ValidationError(
                "Give exactly one of span_ids, trace_ids, session_ids or filter."
            )
        return attrs


class QueueRuleInput(serializers.Serializer):
    """A rule's settings; on update, those given replace the rule's, the others stay."""

    kind = LiteralField(
        ItemKind.values,
        required=False,
        help_text="What a matching span adds: itself, its trace or its trace's session; span when created "
        "without.",
    )
    filter = serializers.DictField(
        required=False,
        help_text="SpanFilter parameters, as GET /v1/projects/{identifier}/spans reads them from its query "
        "string (a list for a repeated one; `condition` is a filter expression, and a name in it must be a "
        "column); {} matches every span.",
    )
    sampling_percent = serializers.IntegerField(
        min_value=1,
        max_value=MAX_SAMPLING_PERCENT,
        allow_null=True,
        required=False,
        help_text="Add only this share of the matches, chosen by a hash of each span, trace or session id: "
        "the backfill and later ingests choose the same ones. null adds every match.",
    )
    enabled = serializers.BooleanField(required=False, help_text="A disabled rule adds nothing.")


class CreateQueueRuleInput(QueueRuleInput):
    filter = serializers.DictField(help_text=QueueRuleInput().fields["filter"].help_text)


class ReviewAnnotationInput(AnnotationInput):
    """One label: an annotation of the item's target, HUMAN, under the reviewer's px-app: identifier."""

    annotator_kind = None
    identifier = None


class SubmitReviewInput(serializers.Serializer):
    data = ReviewAnnotationInput(many=True, max_length=MAX_ANNOTATIONS_PER_SUBMIT)


class SkipItemInput(serializers.Serializer):
    reason = serializers.CharField(allow_blank=True, required=False, default="", max_length=2000)


# --- answers -----------------------------------------------------------------------------------------------


class QueueConfigOut(serializers.Serializer):
    id = serializers.CharField(help_text="Annotation config GlobalID")
    name = serializers.CharField()
    required = serializers.BooleanField()


class AnnotationQueueOut(serializers.Serializer):
    id = serializers.CharField(help_text=f"{QUEUE_TYPE} GlobalID")
    project_id = serializers.CharField(help_text="Project GlobalID")
    name = serializers.CharField()
    instructions = serializers.CharField(allow_blank=True)
    reviewers_per_item = serializers.IntegerField()
    assignment = serializers.ChoiceField(choices=Assignment.values)
    reviewers = serializers.ListField(child=serializers.CharField(), help_text="User GlobalIDs")
    reservation_timeout_seconds = serializers.IntegerField()
    blind = serializers.BooleanField()
    annotation_configs = QueueConfigOut(many=True)
    user_id = serializers.CharField(allow_null=True, help_text="User GlobalID of the creator")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class AnnotationQueueDetailOut(AnnotationQueueOut):
    item_counts = inline_serializer(
        "AnnotationQueueItemCounts", {state: serializers.IntegerField() for state in ItemState.values}
    )


class QueueItemOut(serializers.Serializer):
    id = serializers.CharField(help_text=f"{ITEM_TYPE} GlobalID")
    queue_id = serializers.CharField(help_text=f"{QUEUE_TYPE} GlobalID")
    kind = serializers.ChoiceField(choices=ItemKind.values)
    span_id = serializers.CharField(allow_null=True, help_text="Span items only.")
    trace_id = serializers.CharField(allow_null=True, help_text="Trace items only.")
    session_id = serializers.CharField(allow_null=True, help_text="Session items only.")
    state = serializers.ChoiceField(choices=ItemState.values)
    review_count = serializers.IntegerField(help_text="Submitted reviews.")
    skip_count = serializers.IntegerField()
    reserved_count = serializers.IntegerField(help_text="Live reservations.")
    created_at = serializers.DateTimeField()
    completed_at = serializers.DateTimeField(allow_null=True)


class QueueReservationOut(serializers.Serializer):
    item = QueueItemOut()
    reserved_at = serializers.DateTimeField()
    expires_at = serializers.DateTimeField(
        help_text="The item returns to the pool then, unless submitted or skipped."
    )


class QueueReviewOut(serializers.Serializer):
    id = serializers.CharField(help_text=f"{REVIEW_TYPE} GlobalID")
    outcome = serializers.ChoiceField(choices=ReviewOutcome.values)
    created_at = serializers.DateTimeField()


class QueueItemsAddedOut(serializers.Serializer):
    added = serializers.IntegerField()
    already = serializers.IntegerField(help_text="Named or matched, and in the queue already.")


class QueueRuleOut(serializers.Serializer):
    id = serializers.CharField(help_text=f"{RULE_TYPE} GlobalID")
    queue_id = serializers.CharField(help_text=f"{QUEUE_TYPE} GlobalID")
    kind = serializers.ChoiceField(choices=ItemKind.values)
    filter = serializers.DictField()
    sampling_percent = serializers.IntegerField(allow_null=True)
    enabled = serializers.BooleanField()
    user_id = serializers.CharField(allow_null=True, help_text="User GlobalID of its author")
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class QueueRuleSavedOut(QueueRuleOut):
    backfill = QueueItemsAddedOut(
        allow_null=True,
        help_text="The items of stored spans the rule matched when saved; null when it is disabled.",
    )


def rule_data(rule: QueueRule) -> dict[str, Any]:
    """`QueueRuleOut`."""
    return {
        "id": to_global_id(RULE_TYPE, rule.pk),
        "queue_id": to_global_id(QUEUE_TYPE, rule.queue_id),
        "kind": rule.kind,
        "filter": rule.filter,
        "sampling_percent": rule.sampling_percent,
        "enabled": rule.enabled,
        "user_id": to_global_id("User", rule.user_id) if rule.user_id else None,
        "created_at": iso(rule.created_at),
        "updated_at": iso(rule.updated_at),
    }


def rule_saved_data(saved: RuleSaved) -> dict[str, Any]:
    backfill = saved.backfill
    return {
        **rule_data(saved.rule),
        "backfill": {"added": backfill.added, "already": backfill.already} if backfill else None,
    }


def queue_data(queue: AnnotationQueue) -> dict[str, Any]:
    """`AnnotationQueueOut`; the queue comes from `annotation_queues_with_settings`."""
    return {
        "id": to_global_id(QUEUE_TYPE, queue.pk),
        "project_id": to_global_id("Project", queue.project_id),
        "name": queue.name,
        "instructions": queue.instructions,
        "reviewers_per_item": queue.reviewers_per_item,
        "assignment": queue.assignment,
        "reviewers": [to_global_id("User", user.pk) for user in queue.reviewers.all()],
        "reservation_timeout_seconds": queue.reservation_timeout_seconds,
        "blind": queue.blind,
        "annotation_configs": [
            {
                "id": to_global_id(
                    CONFIG_TYPE_NAMES[choice.annotation_config.type], choice.annotation_config_id
                ),
                "name": choice.annotation_config.name,
                "required": choice.required,
            }
            for choice in queue.queue_configs.all()
        ],
        "user_id": to_global_id("User", queue.user_id) if queue.user_id else None,
        "created_at": iso(queue.created_at),
        "updated_at": iso(queue.updated_at),
    }


def item_data(row: dict[str, Any]) -> dict[str, Any]:
    """`QueueItemOut` of a `queue_item_rows` row."""
    kind = next(kind for kind in ItemKind.values if row[f"{kind}_key"] is not None)
    return {
        "id": to_global_id(ITEM_TYPE, row["pk"]),
        "queue_id": to_global_id(QUEUE_TYPE, row["queue_id"]),
        "kind": kind,
        **{f"{name}_id": row[f"{name}_key"] for name in ItemKind.values},
        "state": item_state(row),
        "review_count": row["review_count"],
        "skip_count": row["skip_count"],
        "reserved_count": row["reserved_count"],
        "created_at": iso(row["created_at"]),
        "completed_at": iso(row["completed_at"]) if row["completed_at"] else None,
    }


def reservation_data(reservation: QueueReservation | None) -> dict[str, Any] | None:
    if reservation is None:
        return None
    (row,) = queue_item_rows(QueueItem.objects.filter(pk=reservation.item_id), now=timezone.now())
    return {
        "item": item_data(row),
        "reserved_at": iso(reservation.reserved_at),
        "expires_at": iso(reservation.expires_at),
    }


# --- lookups -----------------------------------------------------------------------------------------------


def queue_from_id(request: Request, queue_id: str, *, with_settings: bool = False) -> AnnotationQueue:
    """The queue, or a 404 (also for one of a project the caller may not see); `with_settings` fetches its
    configs and reviewers too, for `queue_data`."""
    try:
        _type, pk = from_global_id(queue_id, QUEUE_TYPE)
    except GlobalIDError:
        pk = None
    queues = annotation_queues_with_settings() if with_settings else AnnotationQueue.objects.all()
    queue = reached(request, queues, pk=pk) if pk is not None else None
    if queue is None:
        raise PlainError(404, f"Annotation queue with ID {queue_id} not found")
    return queue


def rule_from_id(request: Request, rule_id: str) -> QueueRule:
    """The rule, with its queue; a 404 also for a rule of a project the caller may not see."""
    try:
        _type, pk = from_global_id(rule_id, RULE_TYPE)
    except GlobalIDError:
        pk = None
    rule = QueueRule.objects.select_related("user").filter(pk=pk).first() if pk is not None else None
    queue = reached(request, AnnotationQueue.objects.all(), pk=rule.queue_id) if rule else None
    if queue is None:
        raise PlainError(404, f"Annotation queue rule with ID {rule_id} not found")
    rule.queue = queue
    return rule


def item_from_id(request: Request, queue_id: str, item_id: str) -> QueueItem:
    queue = queue_from_id(request, queue_id)
    try:
        _type, pk = from_global_id(item_id, ITEM_TYPE)
    except GlobalIDError:
        pk = None
    item = QueueItem.objects.filter(queue=queue, pk=pk).first() if pk is not None else None
    if item is None:
        raise PlainError(404, f"Item with ID {item_id} not found in this queue")
    item.queue = queue
    return item


def reviewer_of(request: Request) -> User:
    """The reviewer is whoever sends the request; without one (auth off, no key) there is nobody to review."""
    if not request.user.is_authenticated:
        raise NotAuthenticated()
    return request.user


def _by_gid_or_name(
    refs: list[str], *, types: set[str], objects: QuerySet[Any], name_field: str
) -> list[Any]:
    """The rows these GlobalIDs (of one of `types`) or names name, in order; a ValidationError by index."""
    pks = {}
    for ref in refs:
        try:
            type_name, pk = from_global_id(ref)
        except GlobalIDError:
            continue
        if type_name in types:
            pks[ref] = pk
    found = objects.filter(pk__in=pks.values()) | objects.filter(**{f"{name_field}__in": refs})
    by_pk = {row.pk: row for row in found}
    by_name = {getattr(row, name_field): row for row in found}
    rows = [by_pk.get(pks[ref]) if ref in pks else by_name.get(ref) for ref in refs]
    unknown = {
        index: ["Names nothing: not a GlobalID or a name of one."]
        for index, row in enumerate(rows)
        if row is None
    }
    if unknown:
        raise serializers.ValidationError(unknown)
    return rows


def queue_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The service's fields of a validated QueueInput: references resolved to rows."""
    fields = {
        name: value
        for name, value in body.items()
        if name not in ("project", "reviewers", "annotation_configs")
    }
    try:
        if "reviewers" in body:
            fields["reviewers"] = _by_gid_or_name(
                body["reviewers"], types={"User"}, objects=User.objects.all(), name_field="username"
            )
    except serializers.ValidationError as error:
        raise serializers.ValidationError({"reviewers": error.detail}) from None
    try:
        if "annotation_configs" in body:
            entries = body["annotation_configs"]
            configs = _by_gid_or_name(
                [entry["id"] for entry in entries],
                types=set(CONFIG_TYPE_NAMES.values()),
                objects=AnnotationConfig.objects.all(),
                name_field="name",
            )
            fields["configs"] = [
                QueueConfigChoice(config, required=entry["required"])
                for config, entry in zip(configs, entries, strict=True)
            ]
    except serializers.ValidationError as error:
        raise serializers.ValidationError(
            {"annotation_configs": {index: {"id": messages} for index, messages in error.detail.items()}}
        ) from None
    return fields


def saved(save: Any, **kwargs: Any) -> AnnotationQueue:
    """The service's queue, read back with its settings; a taken name is Phoenix's 409 for a taken name."""
    try:
        queue = save(**kwargs)
    except DuplicateQueueName as taken:
        raise PlainError(409, taken.messages[0]) from None
    return annotation_queues_with_settings().get(pk=queue.pk)


# --- views -------------------------------------------------------------------------------------------------


class QueueChange(BasePermission):
    """After V1Access: a queue is changed or deleted by an admin or by whoever created it."""

    message = QUEUE_CHANGE_DENIED

    def has_object_permission(self, request: Request, view: APIView, obj: AnnotationQueue) -> bool:
        user = request.user
        return request.method in SAFE_METHODS or not user.is_authenticated or obj.changeable_by(user)


class QueueListParams(QueryParams):
    project = serializers.CharField(
        required=False, help_text="Only this project's queues: a GlobalID or name."
    )
    cursor = cursor_field(QUEUE_TYPE)
    limit = LimitField(default=100, maximum=MAX_PAGE_SIZE)


class QueueItemListParams(QueryParams):
    state = LiteralField(ItemState.values, required=False, help_text="Only items in this state.")
    cursor = cursor_field(ITEM_TYPE)
    limit = LimitField(default=100, maximum=MAX_PAGE_SIZE)


class QueueRuleListParams(QueryParams):
    cursor = cursor_field(RULE_TYPE)
    limit = LimitField(default=100, maximum=MAX_PAGE_SIZE)


SAVE_ERRORS = {
    400: "The settings do not make a valid queue: `<field>: <reason>`.",
    409: "`The project already has a queue named '<name>'.`",
}


class QueueListView(APIView):
    @extend_schema(
        operation_id="listAnnotationQueues",
        summary="List review queues, newest first",
        parameters=[QueueListParams],
        responses={
            200: page_envelope("AnnotationQueuesResponseBody", AnnotationQueueOut(many=True)),
            **errors({404: PROJECT_NOT_FOUND, 422: "`Invalid cursor format: <cursor>`."}),
        },
    )
    def get(self, request: Request) -> Response:
        params = QueueListParams.read(request)
        queues = visible(annotation_queues_with_settings(), request.user)
        if "project" in params:
            queues = queues.filter(project=project_for(request, params["project"]))
        rows, next_cursor = paginate_desc(
            queues, request=request, type_name=QUEUE_TYPE, limit=params["limit"]
        )
        return Response(page([queue_data(queue) for queue in rows], next_cursor))

    @extend_schema(
        operation_id="createAnnotationQueue",
        summary="Create a review queue in a project",
        request=CreateQueueInput,
        responses={
            200: data_envelope("CreateAnnotationQueueResponseBody", AnnotationQueueOut()),
            **errors({**SAVE_ERRORS, 404: PROJECT_NOT_FOUND}),
        },
    )
    def post(self, request: Request) -> Response:
        body = validated(CreateQueueInput, request.data)
        project = project_for(request, body["project"])
        queue = saved(
            annotation_queue_create, project_id=project.pk, user=acting_user(request), **queue_fields(body)
        )
        return Response(envelope(queue_data(queue)))


class QueueDetailView(APIView):
    permission_classes = [V1Access, QueueChange]

    @extend_schema(
        operation_id="getAnnotationQueue",
        summary="Read a review queue, with how many of its items are in each state",
        parameters=[QUEUE_ID],
        responses={
            200: data_envelope("GetAnnotationQueueResponseBody", AnnotationQueueDetailOut()),
            **errors({404: QUEUE_NOT_FOUND}, validation=False),
        },
    )
    def get(self, request: Request, queue_id: str) -> Response:
        queue = queue_from_id(request, queue_id, with_settings=True)
        return Response(
            envelope({**queue_data(queue), "item_counts": queue_item_counts(queue, now=timezone.now())})
        )

    @extend_schema(
        operation_id="updateAnnotationQueue",
        summary="Change some of a review queue's settings",
        description="A change of reviewers_per_item completes or reopens the items it concerns at once.",
        parameters=[QUEUE_ID],
        request=QueueInput,
        responses={
            200: data_envelope("UpdateAnnotationQueueResponseBody", AnnotationQueueOut()),
            **errors(
                {
                    **SAVE_ERRORS,
                    403: f"`{VIEWER_WRITE_DENIED}` or `{QUEUE_CHANGE_DENIED}`",
                    404: QUEUE_NOT_FOUND,
                }
            ),
        },
    )
    def patch(self, request: Request, queue_id: str) -> Response:
        queue = queue_from_id(request, queue_id)
        self.check_object_permissions(request, queue)
        body = validated(QueueInput, request.data)
        return Response(
            envelope(queue_data(saved(annotation_queue_update, queue=queue, **queue_fields(body))))
        )

    @extend_schema(
        operation_id="deleteAnnotationQueue",
        summary="Delete a review queue with its items and reviews (the annotations written stay)",
        parameters=[QUEUE_ID],
        responses={
            204: None,
            **errors(
                {403: f"`{VIEWER_WRITE_DENIED}` or `{QUEUE_CHANGE_DENIED}`", 404: QUEUE_NOT_FOUND},
                validation=False,
            ),
        },
    )
    def delete(self, request: Request, queue_id: str) -> Response:
        queue = queue_from_id(request, queue_id)
        self.check_object_permissions(request, queue)
        annotation_queue_delete(queue=queue)
        return Response(status=204)


class QueueItemsView(APIView):
    @extend_schema(
        operation_id="listAnnotationQueueItems",
        summary="List a queue's items with their state, newest first",
        parameters=[QUEUE_ID, QueueItemListParams],
        responses={
            200: page_envelope("AnnotationQueueItemsResponseBody", QueueItemOut(many=True)),
            **errors({404: QUEUE_NOT_FOUND, 422: "`Invalid cursor format: <cursor>`."}),
        },
    )
    def get(self, request: Request, queue_id: str) -> Response:
        queue = queue_from_id(request, queue_id)
        params = QueueItemListParams.read(request)
        now = timezone.now()
        items = QueueItem.objects.filter(queue=queue)
        if "state" in params:
            items = items.in_state(params["state"], now=now)
        rows, next_cursor = paginate_desc(
            queue_item_rows(items, now=now), request=request, type_name=ITEM_TYPE, limit=params["limit"]
        )
        return Response(page([item_data(row) for row in rows], next_cursor))

    @extend_schema(
        operation_id="addAnnotationQueueItems",
        summary="Add spans, traces or sessions of the queue's project: by id, or all that match a filter",
        description="Idempotent: an item is in a queue once; those named again are counted in `already`. "
        "A filter is evaluated on the server and its matches inserted in one statement.",
        parameters=[QUEUE_ID],
        request=AddQueueItemsInput,
        responses={
            200: data_envelope("AddAnnotationQueueItemsResponseBody", QueueItemsAddedOut()),
            **errors(
                {
                    404: f"{QUEUE_NOT_FOUND} Or `<Kind>s with IDs <id>, <id> do not exist in project "
                    "<name>.`: nothing was added.",
                    422: "A filter took too long and was stopped (its text says how to narrow it).",
                }
            ),
        },
    )
    def post(self, request: Request, queue_id: str) -> Response:
        queue = queue_from_id(request, queue_id)
        body = validated(AddQueueItemsInput, request.data)
        user = acting_user(request)
        if "filter" in body:
            spans = _filtered_spans(request, queue, body["filter"])
            with time_limited_filter():
                added = queue_items_add_matching(queue=queue, spans=spans, kind=body["kind"], user=user)
            return Response(envelope({"added": added.added, "already": added.already}))
        kind = next(kind for kind in ItemKind.values if f"{kind}_ids" in body)
        try:
            added = queue_items_add(queue=queue, kind=kind, target_ids=body[f"{kind}_ids"], user=user)
        except MissingTargets as missing:
            raise PlainError(
                404,
                f"{kind.capitalize()}s with IDs {', '.join(missing.ids)} do not exist in project "
                f"{queue.project.name}.",
            ) from None
        return Response(envelope({"added": added.added, "already": added.already}))


RULE_SAVE_ERRORS = {
    400: "`filter: <parameter>: <reason>` for a filter SpanFilter refuses (nothing is saved).",
    403: f"`{VIEWER_WRITE_DENIED}` or `{QUEUE_CHANGE_DENIED}`",
    422: "A field is invalid, or the backfill's filter took too long and was stopped.",
}


class QueueRulesView(APIView):
    permission_classes = [V1Access, QueueChange]

    @extend_schema(
        operation_id="listAnnotationQueueRules",
        summary="List a queue's rules, newest first",
        parameters=[QUEUE_ID, QueueRuleListParams],
        responses={
            200: page_envelope("AnnotationQueueRulesResponseBody", QueueRuleOut(many=True)),
            **errors({404: QUEUE_NOT_FOUND, 422: "`Invalid cursor format: <cursor>`."}),
        },
    )
    def get(self, request: Request, queue_id: str) -> Response:
        queue = queue_from_id(request, queue_id)
        params = QueueRuleListParams.read(request)
        rows, next_cursor = paginate_desc(
            QueueRule.objects.filter(queue=queue), request=request, type_name=RULE_TYPE, limit=params["limit"]
        )
        return Response(page([rule_data(rule) for rule in rows], next_cursor))

    @extend_schema(
        operation_id="createAnnotationQueueRule",
        summary="Save a rule: its filter's matches become the queue's items, now and as spans arrive",
        description="An enabled rule adds at once the items of every stored span of the queue's project it "
        "matches (in one statement on the server; those in the queue already are counted in "
        "`backfill.already`), then those of each span ingested afterwards that it matches. Only the queue's "
        "creator or an admin may.",
        parameters=[QUEUE_ID],
        request=CreateQueueRuleInput,
        responses={
            200: data_envelope("CreateAnnotationQueueRuleResponseBody", QueueRuleSavedOut()),
            **errors({**RULE_SAVE_ERRORS, 404: QUEUE_NOT_FOUND}),
        },
    )
    def post(self, request: Request, queue_id: str) -> Response:
        queue = queue_from_id(request, queue_id)
        self.check_object_permissions(request, queue)
        body = validated(CreateQueueRuleInput, request.data)
        with time_limited_filter():
            saved_rule = queue_rule_create(queue=queue, user=acting_user(request), **body)
        return Response(envelope(rule_saved_data(saved_rule)))


class QueueRuleDetailView(APIView):
    permission_classes = [V1Access, QueueChange]

    @extend_schema(
        operation_id="getAnnotationQueueRule",
        summary="Read a queue rule",
        parameters=[RULE_ID],
        responses={
            200: data_envelope("GetAnnotationQueueRuleResponseBody", QueueRuleOut()),
            **errors({404: RULE_NOT_FOUND}, validation=False),
        },
    )
    def get(self, request: Request, rule_id: str) -> Response:
        return Response(envelope(rule_data(rule_from_id(request, rule_id))))

    @extend_schema(
        operation_id="updateAnnotationQueueRule",
        summary="Change some of a queue rule's settings",
        description="An enabled rule then adds the items of every stored span it matches, as when created; "
        "the items it added before stay.",
        parameters=[RULE_ID],
        request=QueueRuleInput,
        responses={
            200: data_envelope("UpdateAnnotationQueueRuleResponseBody", QueueRuleSavedOut()),
            **errors({**RULE_SAVE_ERRORS, 404: RULE_NOT_FOUND}),
        },
    )
    def patch(self, request: Request, rule_id: str) -> Response:
        rule = rule_from_id(request, rule_id)
        self.check_object_permissions(request, rule.queue)
        body = validated(QueueRuleInput, request.data)
        with time_limited_filter():
            saved_rule = queue_rule_update(rule=rule, **body)
        return Response(envelope(rule_saved_data(saved_rule)))

    @extend_schema(
        operation_id="deleteAnnotationQueueRule",
        summary="Delete a queue rule (the items it added stay)",
        parameters=[RULE_ID],
        responses={
            204: None,
            **errors(
                {403: f"`{VIEWER_WRITE_DENIED}` or `{QUEUE_CHANGE_DENIED}`", 404: RULE_NOT_FOUND},
                validation=False,
            ),
        },
    )
    def delete(self, request: Request, rule_id: str) -> Response:
        rule = rule_from_id(request, rule_id)
        self.check_object_permissions(request, rule.queue)
        queue_rule_delete(rule=rule)
        return Response(status=204)


def _filtered_spans(request: Request, queue: AnnotationQueue, raw: dict[str, Any]) -> QuerySet[Span]:
    """The spans of the queue's project that SpanFilter keeps for these parameters; a 422 naming each one
    it refuses (or does not know)."""
    filterset = SpanFilter(
        span_filter_data(raw), queryset=Span.objects.filter(project=queue.project), request=request
    )
    problems = filter_problems(filterset, raw)
    if problems:
        raise serializers.ValidationError({"filter": problems})
    return filterset.qs


def reviewing(service: Callable[..., T], **kwargs: Any) -> T:
    """The service's answer; a review it refuses is a 409 saying why."""
    try:
        return service(**kwargs)
    except ReviewRefused as refused:
        raise PlainError(409, str(refused)) from None


def review_errors(extra: dict[int, str] | None = None) -> Any:
    return errors(
        {
            401: NO_REVIEWER,
            403: NOT_A_REVIEWER,
            404: ITEM_NOT_FOUND,
            **(extra or {}),
        }
    )


class QueueNextView(APIView):
    @extend_schema(
        operation_id="nextAnnotationQueueItem",
        summary="Reserve the next item for the requesting reviewer",
        description="The oldest item the reviewer has not reviewed or skipped whose N slots are not all "
        "taken by submitted reviews and others' live reservations, reserved for reservation_timeout_seconds. "
        "A reviewer holding a live reservation gets that item again, its time renewed. `data` is null when "
        "nothing is left for them.",
        parameters=[QUEUE_ID],
        request=None,
        responses={
            200: data_envelope("NextAnnotationQueueItemResponseBody", QueueReservationOut(), nullable=True),
            **review_errors(),
        },
    )
    def post(self, request: Request, queue_id: str) -> Response:
        queue = queue_from_id(request, queue_id)
        return Response(
            envelope(reservation_data(queue_item_next(queue=queue, reviewer=reviewer_of(request))))
        )


class ItemSubmitView(APIView):
    @extend_schema(
        operation_id="submitAnnotationQueueItem",
        summary="Submit the reviewer's labels of an item, and reserve their next item",
        description="Each annotation names one of the queue's configs and is written as the reviewer's own "
        "(HUMAN, identifier px-app:<user id>), replacing their earlier one; every required config must be "
        "there. Nothing is written when anything is refused.",
        parameters=[QUEUE_ID, ITEM_ID],
        request=SubmitReviewInput,
        responses={
            200: data_envelope(
                "SubmitAnnotationQueueItemResponseBody",
                inline_serializer(
                    "SubmittedReview",
                    {"review": QueueReviewOut(), "next": QueueReservationOut(allow_null=True)},
                ),
            ),
            **review_errors(
                {
                    400: "`data[<i>].<field>: <reason>` for each annotation refused, `data: Required and "
                    "missing: <names>.`",
                    409: "`You have reviewed this item already.`, `This item has its <n> reviews already.` "
                    "or `Every review slot of this item is reserved by other reviewers; ...`",
                }
            ),
        },
    )
    def post(self, request: Request, queue_id: str, item_id: str) -> Response:
        item = item_from_id(request, queue_id, item_id)
        reviewer = reviewer_of(request)
        annotations = [
            ReviewAnnotation(
                name=entry["name"],
                label=(entry.get("result") or {}).get("label"),
                score=(entry.get("result") or {}).get("score"),
                explanation=(entry.get("result") or {}).get("explanation"),
                metadata=entry.get("metadata") or {},
            )
            for entry in validated(SubmitReviewInput, request.data)["data"]
        ]
        submitted = reviewing(
            queue_item_submit,
            item=item,
            reviewer=reviewer,
            annotations=annotations,
            source=AnnotationSource.API,
        )
        review = submitted.review
        return Response(
            envelope(
                {
                    "review": {
                        "id": to_global_id(REVIEW_TYPE, review.pk),
                        "outcome": review.outcome,
                        "created_at": iso(review.created_at),
                    },
                    "next": reservation_data(submitted.next),
                }
            )
        )


class ItemSkipView(APIView):
    @extend_schema(
        operation_id="skipAnnotationQueueItem",
        summary="Skip an item (with a reason), and reserve the reviewer's next item",
        description="A skipped item is not served to that reviewer again and takes none of its N slots.",
        parameters=[QUEUE_ID, ITEM_ID],
        request=SkipItemInput,
        responses={
            200: data_envelope(
                "SkipAnnotationQueueItemResponseBody",
                inline_serializer("SkippedReview", {"next": QueueReservationOut(allow_null=True)}),
            ),
            **review_errors({409: "`You have reviewed this item already.` (or skipped)"}),
        },
    )
    def post(self, request: Request, queue_id: str, item_id: str) -> Response:
        item = item_from_id(request, queue_id, item_id)
        reviewer = reviewer_of(request)
        reason = validated(SkipItemInput, request.data or {})["reason"]
        following = reviewing(queue_item_skip, item=item, reviewer=reviewer, reason=reason)
        return Response(envelope({"next": reservation_data(following)}))


class ItemReleaseView(APIView):
    @extend_schema(
        operation_id="releaseAnnotationQueueItem",
        summary="Give an item back to the pool before its reservation expires",
        description="Nothing happens when the reviewer does not hold it.",
        parameters=[QUEUE_ID, ITEM_ID],
        request=None,
        responses={204: None, **errors({401: NO_REVIEWER, 404: ITEM_NOT_FOUND}, validation=False)},
    )
    def post(self, request: Request, queue_id: str, item_id: str) -> Response:
        item = item_from_id(request, queue_id, item_id)
        queue_item_release(item=item, reviewer=reviewer_of(request))
        return Response(status=204)
