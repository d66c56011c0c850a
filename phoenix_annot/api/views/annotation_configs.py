"""Annotation configs and their assignment to projects (PHOENIX_COMPAT.md §3.8)."""

from typing import Any

from django.core.exceptions import ValidationError
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from phoenix_annot.annotations.configs import (
    DuplicateConfigName,
    ReservedConfigName,
    annotation_config_assign,
    annotation_config_create,
    annotation_config_unassign,
    annotation_config_update,
    annotation_configs_set_for_project,
)
from phoenix_annot.annotations.models import AnnotationConfig, AnnotationType, OptimizationDirection
from phoenix_annot.core.globalid import GlobalIDError, from_global_id, to_global_id

from ..errors import PlainError
from ..lookups import project_from_identifier
from ..params import query_int
from ..wire import envelope, page, validated

TYPE_NAMES = {
    AnnotationType.CATEGORICAL: "CategoricalAnnotationConfig",
    AnnotationType.CONTINUOUS: "ContinuousAnnotationConfig",
    AnnotationType.FREEFORM: "FreeformAnnotationConfig",
}
NOT_FOUND = "Annotation configuration not found"


def config_data(config: AnnotationConfig) -> dict[str, Any]:
    data: dict[str, Any] = {
        "name": config.name,
        "type": config.type,
        "description": config.description or None,
        "optimization_direction": config.optimization_direction,
    }
    if config.type == AnnotationType.CATEGORICAL:
        data["values"] = config.values
    else:
        if config.type == AnnotationType.FREEFORM:
            data["threshold"] = config.threshold
        data["lower_bound"] = config.lower_bound
        data["upper_bound"] = config.upper_bound
    data["id"] = to_global_id(TYPE_NAMES[config.type], config.pk)
    return data


class CategoricalValueInput(serializers.Serializer):
    label = serializers.CharField(allow_blank=True)
    score = serializers.FloatField(allow_null=True, required=False, default=None)


class ConfigInput(serializers.Serializer):
    name = serializers.CharField(min_length=1, max_length=255)
    type = serializers.ChoiceField(choices=AnnotationType.values)
    description = serializers.CharField(allow_null=True, allow_blank=True, required=False, default=None)
    optimization_direction = serializers.ChoiceField(
        choices=OptimizationDirection.values, allow_null=True, required=False, default=None
    )
    values = CategoricalValueInput(many=True, required=False, default=list)
    lower_bound = serializers.FloatField(allow_null=True, required=False, default=None)
    upper_bound = serializers.FloatField(allow_null=True, required=False, default=None)
    threshold = serializers.FloatField(allow_null=True, required=False, default=None)


class ConfigIdsInput(serializers.Serializer):
    annotation_config_ids = serializers.ListField(child=serializers.CharField(), max_length=1000)


def config_pk(config_id: str, *, wrong_type_status: int) -> int:
    try:
        type_name, pk = from_global_id(config_id)
    except GlobalIDError:
        raise PlainError(422, f"Invalid annotation configuration ID: {config_id}") from None
    if type_name not in TYPE_NAMES.values():
        raise PlainError(wrong_type_status, f"Invalid annotation configuration ID: {config_id}")
    return pk


def config_by_gid(config_id: str) -> AnnotationConfig:
    pk = config_pk(config_id, wrong_type_status=400)
    config = AnnotationConfig.objects.filter(pk=pk).first()
    if config is None:
        raise PlainError(404, NOT_FOUND)
    return config


def config_by_identifier(identifier: str) -> AnnotationConfig:
    try:
        type_name, pk = from_global_id(identifier)
    except GlobalIDError:
        type_name, pk = "", None
    lookup = {"pk": pk} if type_name in TYPE_NAMES.values() else {"name": identifier}
    config = AnnotationConfig.objects.filter(**lookup).first()
    if config is None:
        raise PlainError(404, NOT_FOUND)
    return config


def save_config(config: AnnotationConfig | None, body: Any) -> AnnotationConfig:
    values = dict(validated(ConfigInput, body))
    name = values.pop("name")
    values["values"] = [dict(v) for v in values["values"]]
    try:
        if config is None:
            return annotation_config_create(name=name, **values)
        return annotation_config_update(config=config, name=name, **values)
    except (DuplicateConfigName, ReservedConfigName) as exc:
        raise PlainError(409, exc.messages[0]) from None
    except ValidationError as exc:
        raise PlainError(400, "; ".join(exc.messages)) from None


def paginated_configs(request: Request, configs: Any) -> Response:
    cursor = request.query_params.get("cursor")
    if cursor:
        try:
            type_name, pk = from_global_id(cursor)
        except GlobalIDError:
            type_name, pk = "", 0
        if type_name not in TYPE_NAMES.values():
            raise PlainError(400, f"Invalid cursor: {cursor}")
        configs = configs.filter(pk__lte=pk)
    limit = query_int(request, "limit", default=100, maximum=1000)
    rows = list(configs.order_by("-pk")[: limit + 1])
    next_cursor = to_global_id(TYPE_NAMES[rows[limit].type], rows[limit].pk) if len(rows) > limit else None
    return Response(page([config_data(c) for c in rows[:limit]], next_cursor))


class AnnotationConfigListView(APIView):
    def get(self, request: Request) -> Response:
        return paginated_configs(request, AnnotationConfig.objects.all())

    def post(self, request: Request) -> Response:
        return Response(envelope(config_data(save_config(None, request.data))))


class AnnotationConfigDetailView(APIView):
    def get(self, request: Request, identifier: str) -> Response:
        return Response(envelope(config_data(config_by_identifier(identifier))))

    def put(self, request: Request, identifier: str) -> Response:
        return Response(envelope(config_data(save_config(config_by_gid(identifier), request.data))))

    def delete(self, request: Request, identifier: str) -> Response:
        config = config_by_gid(identifier)
        data = config_data(config)
        config.delete()
        return Response(envelope(data))


class ProjectAnnotationConfigListView(APIView):
    def get(self, request: Request, identifier: str) -> Response:
        project = project_from_identifier(identifier)
        return paginated_configs(request, AnnotationConfig.objects.filter(projects=project))

    def put(self, request: Request, identifier: str) -> Response:
        project = project_from_identifier(identifier)
        ids = validated(ConfigIdsInput, request.data)["annotation_config_ids"]
        pks = [config_pk(config_id, wrong_type_status=422) for config_id in ids]
        configs = list(AnnotationConfig.objects.filter(pk__in=pks))
        if len(configs) != len(set(pks)):
            raise PlainError(422, "Unknown annotation configuration IDs")
        annotation_configs_set_for_project(project=project, configs=configs)
        ordered = sorted(configs, key=lambda c: -c.pk)
        return Response(page([config_data(c) for c in ordered], None))


class ProjectAnnotationConfigView(APIView):
    def put(self, request: Request, identifier: str, config_identifier: str) -> Response:
        project = project_from_identifier(identifier)
        config = config_by_identifier(config_identifier)
        annotation_config_assign(project=project, config=config)
        return Response(envelope(config_data(config)))

    def delete(self, request: Request, identifier: str, config_identifier: str) -> Response:
        annotation_config_unassign(
            project=project_from_identifier(identifier), config=config_by_identifier(config_identifier)
        )
        return Response(status=204)
