"""Annotation configs and their assignment to projects (PHOENIX_COMPAT.md §3.8). Admins change them, as on the
pages."""

from typing import Any

from django.core.exceptions import ValidationError
from drf_spectacular.utils import PolymorphicProxySerializer, extend_schema
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

from ..auth import ADMIN_ONLY, VIEWER_WRITE_DENIED, AdminOnlyWrites, V1Access
from ..errors import PlainError
from ..lookups import project_for
from ..params import query_int
from ..schema import (
    PROJECT_NOT_FOUND,
    PROJECT_PATH,
    PatternField,
    cursor_param,
    data_envelope,
    errors,
    global_id_field,
    global_id_path,
    limit_param,
    page_envelope,
    path_param,
)
from ..wire import envelope, page, validated

TYPE_NAMES = {
    AnnotationType.CATEGORICAL: "CategoricalAnnotationConfig",
    AnnotationType.CONTINUOUS: "ContinuousAnnotationConfig",
    AnnotationType.FREEFORM: "FreeformAnnotationConfig",
}
CONFIG_TYPES = tuple(TYPE_NAMES.values())
NOT_FOUND = "Annotation configuration not found"
NOT_BLANK = r"\S"
MAX_PAGE_SIZE = 1000


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


# Every type's fields in one serializer; the service checks what each type needs (see ConfigRequest).
class ConfigInput(serializers.Serializer):
    name = PatternField(NOT_BLANK, min_length=1, max_length=255)
    type = serializers.ChoiceField(choices=AnnotationType.values)
    description = serializers.CharField(allow_null=True, allow_blank=True, required=False, default=None)
    optimization_direction = serializers.ChoiceField(
        choices=OptimizationDirection.values, allow_null=True, required=False, default=None
    )
    values = CategoricalValueInput(many=True, required=False, default=list)
    lower_bound = serializers.FloatField(allow_null=True, required=False, default=None)
    upper_bound = serializers.FloatField(allow_null=True, required=False, default=None)
    threshold = serializers.FloatField(allow_null=True, required=False, default=None)


class LabelledValueInput(CategoricalValueInput):
    label = PatternField(NOT_BLANK, help_text="Unique within the config.")


class CategoricalConfigInput(ConfigInput):
    """A label from a fixed set, each label with an optional score."""

    type = serializers.ChoiceField(choices=[AnnotationType.CATEGORICAL])
    values = serializers.ListField(child=LabelledValueInput(), min_length=1)
    lower_bound = upper_bound = threshold = None


class ContinuousConfigInput(ConfigInput):
    """A score, optionally within bounds."""

    type = serializers.ChoiceField(choices=[AnnotationType.CONTINUOUS])
    lower_bound = serializers.FloatField(allow_null=True, required=False, help_text="Below upper_bound.")
    values = threshold = None


class FreeformConfigInput(ContinuousConfigInput):
    """Free text (an explanation), with optional score bounds and threshold."""

    type = serializers.ChoiceField(choices=[AnnotationType.FREEFORM])
    threshold = serializers.FloatField(allow_null=True, required=False)


def by_type(
    component_name: str, categorical: type, continuous: type, freeform: type, *, many: bool = False
) -> PolymorphicProxySerializer:
    """One shape per config type, told apart by `type`."""
    return PolymorphicProxySerializer(
        component_name=component_name,
        serializers={
            AnnotationType.CATEGORICAL: categorical,
            AnnotationType.CONTINUOUS: continuous,
            AnnotationType.FREEFORM: freeform,
        },
        resource_type_field_name="type",
        many=many,
    )


# The body as documented (ConfigInput validates all three shapes).
ConfigRequest = by_type(
    "AnnotationConfigInput", CategoricalConfigInput, ContinuousConfigInput, FreeformConfigInput
)


class ConfigIdsInput(serializers.Serializer):
    annotation_config_ids = serializers.ListField(child=global_id_field(*CONFIG_TYPES), max_length=1000)


class ConfigOut(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    optimization_direction = serializers.ChoiceField(choices=OptimizationDirection.values)


class CategoricalValueOut(serializers.Serializer):
    label = serializers.CharField()
    score = serializers.FloatField(allow_null=True)


class CategoricalConfigOut(ConfigOut):
    type = serializers.ChoiceField(choices=[AnnotationType.CATEGORICAL])
    values = CategoricalValueOut(many=True)
    id = serializers.CharField(help_text="CategoricalAnnotationConfig GlobalID")


class ContinuousConfigOut(ConfigOut):
    type = serializers.ChoiceField(choices=[AnnotationType.CONTINUOUS])
    lower_bound = serializers.FloatField(allow_null=True)
    upper_bound = serializers.FloatField(allow_null=True)
    id = serializers.CharField(help_text="ContinuousAnnotationConfig GlobalID")


class FreeformConfigOut(ContinuousConfigOut):
    type = serializers.ChoiceField(choices=[AnnotationType.FREEFORM])
    threshold = serializers.FloatField(allow_null=True)
    id = serializers.CharField(help_text="FreeformAnnotationConfig GlobalID")


def configs_out(*, many: bool = False) -> PolymorphicProxySerializer:
    """`config_data`."""
    return by_type(
        "AnnotationConfig", CategoricalConfigOut, ContinuousConfigOut, FreeformConfigOut, many=many
    )


ConfigEnvelope = data_envelope("AnnotationConfigResponseBody", configs_out())
ConfigPage = page_envelope("AnnotationConfigsResponseBody", configs_out(many=True))
CONFIG_ID = global_id_path("identifier", *CONFIG_TYPES)
CONFIG_ID_OR_NAME = path_param("identifier", "An annotation config GlobalID or name.")
PROJECT_CONFIG = path_param("config_identifier", "An annotation config GlobalID or name.")
CONFIG_LIST_PARAMETERS = [cursor_param(*CONFIG_TYPES), limit_param(default=100, maximum=MAX_PAGE_SIZE)]
INVALID_ID = "`Invalid annotation configuration ID: <id>`"
# Every config write: viewers are refused first, then annotators (the config pages are admins' too).
ADMINS_WRITE = {403: f"`{VIEWER_WRITE_DENIED}` (viewers) or `{ADMIN_ONLY}` (annotators)"}
SAVE_ERRORS = {
    **ADMINS_WRITE,
    400: "The values do not make a valid config, e.g. `Values must be non-empty`.",
    409: "`The name of the annotation configuration is already taken`, or the name `note`, which is "
    "reserved.",
}


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
    limit = query_int(request, "limit", default=100, maximum=MAX_PAGE_SIZE)
    rows = list(configs.order_by("-pk")[: limit + 1])
    next_cursor = to_global_id(TYPE_NAMES[rows[limit].type], rows[limit].pk) if len(rows) > limit else None
    return Response(page([config_data(c) for c in rows[:limit]], next_cursor))


class AnnotationConfigListView(APIView):
    permission_classes = [V1Access, AdminOnlyWrites]

    @extend_schema(
        operation_id="listAnnotationConfigs",
        summary="List annotation configs, newest first",
        parameters=CONFIG_LIST_PARAMETERS,
        responses={200: ConfigPage, **errors({400: "`Invalid cursor: <cursor>`"})},
    )
    def get(self, request: Request) -> Response:
        return paginated_configs(request, AnnotationConfig.objects.all())

    @extend_schema(
        operation_id="createAnnotationConfig",
        summary="Create an annotation config (the body is the config, not wrapped in data)",
        request=ConfigRequest,
        responses={200: ConfigEnvelope, **errors(SAVE_ERRORS)},
    )
    def post(self, request: Request) -> Response:
        return Response(envelope(config_data(save_config(None, request.data))))


class AnnotationConfigDetailView(APIView):
    permission_classes = [V1Access, AdminOnlyWrites]

    @extend_schema(
        operation_id="getAnnotationConfig",
        summary="Read an annotation config",
        parameters=[CONFIG_ID_OR_NAME],
        responses={200: ConfigEnvelope, **errors({404: f"`{NOT_FOUND}`"}, validation=False)},
    )
    def get(self, request: Request, identifier: str) -> Response:
        return Response(envelope(config_data(config_by_identifier(identifier))))

    @extend_schema(
        operation_id="updateAnnotationConfig",
        summary="Replace an annotation config, name and type included",
        parameters=[CONFIG_ID],
        request=ConfigRequest,
        responses={
            200: ConfigEnvelope,
            **errors(
                {
                    **ADMINS_WRITE,
                    400: f"{INVALID_ID} (a GlobalID of another type), or {SAVE_ERRORS[400]}",
                    404: f"`{NOT_FOUND}`",
                    409: SAVE_ERRORS[409],
                    422: f"{INVALID_ID} (not a GlobalID)",
                }
            ),
        },
    )
    def put(self, request: Request, identifier: str) -> Response:
        return Response(envelope(config_data(save_config(config_by_gid(identifier), request.data))))

    @extend_schema(
        operation_id="deleteAnnotationConfig",
        summary="Delete an annotation config; answers the deleted config",
        parameters=[CONFIG_ID],
        responses={
            200: ConfigEnvelope,
            **errors(
                {
                    **ADMINS_WRITE,
                    400: f"{INVALID_ID} (a GlobalID of another type)",
                    404: f"`{NOT_FOUND}`",
                    422: f"{INVALID_ID} (not a GlobalID)",
                },
                validation=False,
            ),
        },
    )
    def delete(self, request: Request, identifier: str) -> Response:
        config = config_by_gid(identifier)
        data = config_data(config)
        config.delete()
        return Response(envelope(data))


class ProjectAnnotationConfigListView(APIView):
    permission_classes = [V1Access, AdminOnlyWrites]

    @extend_schema(
        operation_id="getProjectAnnotationConfigs",
        summary="List the annotation configs assigned to a project",
        parameters=[PROJECT_PATH, *CONFIG_LIST_PARAMETERS],
        responses={200: ConfigPage, **errors({400: "`Invalid cursor: <cursor>`", 404: PROJECT_NOT_FOUND})},
    )
    def get(self, request: Request, identifier: str) -> Response:
        project = project_for(request, identifier)
        return paginated_configs(request, AnnotationConfig.objects.filter(projects=project))

    @extend_schema(
        operation_id="setProjectAnnotationConfigs",
        summary="Replace the set of annotation configs assigned to a project",
        parameters=[PROJECT_PATH],
        request=ConfigIdsInput,
        responses={
            200: ConfigPage,
            **errors(
                {
                    **ADMINS_WRITE,
                    404: PROJECT_NOT_FOUND,
                    422: f"{INVALID_ID} or `Unknown annotation configuration IDs`",
                }
            ),
        },
    )
    def put(self, request: Request, identifier: str) -> Response:
        project = project_for(request, identifier)
        ids = validated(ConfigIdsInput, request.data)["annotation_config_ids"]
        pks = [config_pk(config_id, wrong_type_status=422) for config_id in ids]
        configs = list(AnnotationConfig.objects.filter(pk__in=pks))
        if len(configs) != len(set(pks)):
            raise PlainError(422, "Unknown annotation configuration IDs")
        annotation_configs_set_for_project(project=project, configs=configs)
        ordered = sorted(configs, key=lambda c: -c.pk)
        return Response(page([config_data(c) for c in ordered], None))


PROJECT_CONFIG_ERRORS = errors(
    {**ADMINS_WRITE, 404: f"{PROJECT_NOT_FOUND} Or `{NOT_FOUND}`."}, validation=False
)


class ProjectAnnotationConfigView(APIView):
    permission_classes = [V1Access, AdminOnlyWrites]

    @extend_schema(
        operation_id="assignAnnotationConfigToProject",
        summary="Assign an annotation config to a project (idempotent)",
        parameters=[PROJECT_PATH, PROJECT_CONFIG],
        request=None,
        responses={200: ConfigEnvelope, **PROJECT_CONFIG_ERRORS},
    )
    def put(self, request: Request, identifier: str, config_identifier: str) -> Response:
        project = project_for(request, identifier)
        config = config_by_identifier(config_identifier)
        annotation_config_assign(project=project, config=config)
        return Response(envelope(config_data(config)))

    @extend_schema(
        operation_id="unassignAnnotationConfigFromProject",
        summary="Unassign an annotation config from a project (idempotent)",
        parameters=[PROJECT_PATH, PROJECT_CONFIG],
        responses={204: None, **PROJECT_CONFIG_ERRORS},
    )
    def delete(self, request: Request, identifier: str, config_identifier: str) -> Response:
        annotation_config_unassign(
            project=project_for(request, identifier), config=config_by_identifier(config_identifier)
        )
        return Response(status=204)
