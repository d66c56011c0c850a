"""The OpenAPI document of /v1 (drf-spectacular), served at /openapi.json with Swagger UI at /docs.

Views describe their own bodies, parameters and route-specific errors with `@extend_schema`, using the
helpers below; the hooks add what every route shares (auth and body errors) and the one /v1 route that is
not a DRF view, OTLP ingestion. Errors are documented as Phoenix sends them: text/plain strings, except
request validation errors, which are 422 JSON in FastAPI's shape.
"""

from typing import Any

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from .errors import MISSING_KEY

TEXT = "text/plain"
JSON = "application/json"
OTLP_PATH = "/v1/traces"


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "phoenix_annot.api.auth.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema: AutoSchema) -> dict[str, Any]:
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key, as `Authorization: Bearer <key>` or `api-key: <key>` (HTTP servers "
            "drop the `api_key` spelling of older Phoenix docs). Required unless "
            "PHOENIX_ANNOT_V1_AUTH_REQUIRED=false.",
        }


class ValidationErrorItem(serializers.Serializer):
    type = serializers.CharField()
    loc = serializers.ListField(child=serializers.JSONField(), help_text="Field names and list indexes.")
    msg = serializers.CharField()
    input = serializers.JSONField(allow_null=True)


class HTTPValidationError(serializers.Serializer):
    detail = ValidationErrorItem(many=True)


def errors(descriptions: dict[int, str], *, validation: bool = True) -> dict[Any, OpenApiResponse]:
    """text/plain error responses, the text each status answers as description; plus the 422 JSON of
    request validation unless the route validates nothing."""
    responses: dict[Any, OpenApiResponse] = {
        (status, TEXT): OpenApiResponse(OpenApiTypes.STR, description=text)
        for status, text in descriptions.items()
    }
    if validation:
        responses[(422, JSON)] = OpenApiResponse(
            HTTPValidationError, description="A parameter or body field is invalid; `loc` points at it."
        )
    return responses


def data_envelope(name: str, item: Any) -> serializers.Serializer:
    return inline_serializer(name, {"data": item})


def page_envelope(name: str, item: serializers.Serializer) -> serializers.Serializer:
    return inline_serializer(
        name,
        {
            "data": item,
            "next_cursor": serializers.CharField(
                allow_null=True, help_text="GlobalID of the first row not returned; null on the last page."
            ),
        },
    )


def path_param(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, str, OpenApiParameter.PATH, description=description)


PROJECT_PATH = path_param("identifier", "The project's GlobalID (`UHJvamVjdDox`) or its name.")
PROJECT_NOT_FOUND = "`Project with name <name> not found` or `Project with ID <id> not found`."


def query(name: str, kind: Any, description: str, *, many: bool = False, **extra: Any) -> OpenApiParameter:
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, description=description, many=many, **extra)


def limit_param(*, default: int, maximum: int) -> OpenApiParameter:
    return query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
        "Rows per page.",
    )


def cursor_param(type_name: str) -> OpenApiParameter:
    return query(
        "cursor",
        str,
        f"`next_cursor` of the previous page: a {type_name} GlobalID, included in this page.",
    )


def sync_param(what: str) -> OpenApiParameter:
    return query(
        "sync",
        {"type": "boolean", "default": False},
        f"true: answer once {what} stored, with their ids. false: answer an empty result.",
    )


def add_common_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Errors every /v1 operation shares, unless the operation documents that status itself."""
    for operations in result["paths"].values():
        for method, operation in operations.items():
            common = {
                401: f"Auth on and no usable key: `{MISSING_KEY}` or `Invalid token`.",
                503: "Database unavailable; nothing was written. Retry later.",
            }
            if method != "get":
                common[403] = "Viewers cannot perform this action."
            if "requestBody" in operation:
                common[400] = "The body is not valid JSON: `JSON parse error - <reason>`."
                common[413] = "Request body is larger than the <n> byte limit."
                common[415] = 'Unsupported media type "<type>" in request.'
            for status, text in common.items():
                operation["responses"].setdefault(
                    str(status), {"description": text, "content": {TEXT: {"schema": {"type": "string"}}}}
                )
    return result


def add_otlp_route(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POST /v1/traces is a plain Django view (phoenix_annot/ingest/views.py), so it is described here."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    result["paths"][OTLP_PATH] = {
        "post": {
            "operationId": "exportTraces",
            "summary": "Ingest spans (OTLP/HTTP)",
            "description": "An OpenTelemetry `ExportTraceServiceRequest`, protobuf or OTLP/JSON, optionally "
            "gzip/deflate-compressed. Synchronous: a 200 means every span is stored. The project is the "
            "`x-project-name` header, else the `openinference.project.name` resource attribute, else "
            "`default`.",
            "tags": ["traces"],
            "parameters": [
                {
                    "name": "x-project-name",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string"},
                    "description": "Project for every span of the request.",
                },
                {
                    "name": "Content-Encoding",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "enum": ["gzip", "deflate", "identity"]},
                },
            ],
            "requestBody": {
                "required": True,
                "content": {"application/x-protobuf": binary, JSON: {"schema": {"type": "object"}}},
            },
            "responses": {
                "200": {
                    "description": "An empty ExportTraceServiceResponse, in the request's format.",
                    "content": {"application/x-protobuf": binary, JSON: {"schema": {"type": "object"}}},
                },
                **{
                    str(status): {"description": text, "content": {TEXT: {"schema": {"type": "string"}}}}
                    for status, text in {
                        400: "Malformed body or compression.",
                        413: "Request body is larger than the limit (PHOENIX_ANNOT_OTLP_MAX_BODY_BYTES).",
                        415: "Unsupported content type or encoding.",
                        422: "Not a valid ExportTraceServiceRequest, or the spans could not be stored.",
                    }.items()
                },
            },
            "security": [{ApiKeyScheme.name: []}, {}],
        }
    }
    return result
