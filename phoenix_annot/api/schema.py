"""The OpenAPI document of /v1 (drf-spectacular), served at /openapi.json with Swagger UI at /docs.

Views describe their own bodies, parameters and route-specific errors with `@extend_schema`, using the
helpers below; the hooks add what every route shares (auth and body errors) and the one /v1 route that is
not a DRF view, OTLP ingestion. Errors are documented as Phoenix sends them: text/plain strings, except
request validation errors, which are 422 JSON in FastAPI's shape.
"""

import re
from typing import Any

from drf_spectacular.extensions import (
    OpenApiAuthenticationExtension,
    OpenApiSerializerExtension,
    OpenApiSerializerFieldExtension,
)
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.plumbing import build_parameter_type
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, inline_serializer
from rest_framework import serializers

from phoenix_annot.core.globalid import global_id_pattern
from phoenix_annot.ingest.otlp import PROJECT_NAME_MAX_LENGTH

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


# A body that may be JSON `null` instead: drf-spectacular documents `allow_null` only on nested fields.
class NullableBody(serializers.Serializer):
    pass


class NullableBodySchema(OpenApiSerializerExtension):
    target_class = NullableBody
    match_subclasses = True

    def map_serializer(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        return {
            **auto_schema._map_serializer(self.target, direction, bypass_extensions=True),
            "nullable": True,
        }


def data_envelope(name: str, item: Any, *, nullable: bool = False) -> serializers.Serializer:
    if nullable:
        return type(name, (NullableBody,), {"data": item})()
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


def global_id(*type_names: str) -> dict[str, Any]:
    """The schema of a GlobalID of one of these types: exactly the strings base64("<type>:<digits>")."""
    return {"type": "string", "pattern": global_id_pattern(*type_names)}


class PatternField(serializers.CharField):
    """A string documented as matching `pattern`, which the view or service checks itself, to answer in
    Phoenix's words; as a field it validates exactly as a CharField."""

    def __init__(self, pattern: str, **kwargs: Any) -> None:
        self.pattern = pattern
        super().__init__(**kwargs)


class PatternFieldSchema(OpenApiSerializerFieldExtension):
    target_class = PatternField

    def map_serializer_field(self, auto_schema: AutoSchema, direction: str) -> dict[str, Any]:
        schema = auto_schema._map_serializer_field(self.target, direction, bypass_extensions=True)
        return {**schema, "pattern": self.target.pattern}


def drop_implied_min_length(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """drf-spectacular post-processing hook: no `minLength: 1` beside a pattern that cannot match "".

    Said twice, schemathesis merges the two by rewriting the pattern, and its rewrite leaves `]`
    unescaped, which JSON Schema's ECMA-262 regex dialect rejects.
    """
    nodes: list[Any] = [result]
    while nodes:
        node = nodes.pop()
        if isinstance(node, dict):
            pattern = node.get("pattern")
            if node.get("minLength") == 1 and isinstance(pattern, str) and re.search(pattern, "") is None:
                del node["minLength"]
            nodes.extend(node.values())
        elif isinstance(node, list):
            nodes.extend(node)
    return result


def global_id_field(*type_names: str, **kwargs: Any) -> PatternField:
    return PatternField(
        global_id_pattern(*type_names), help_text=f"{' or '.join(type_names)} GlobalID", **kwargs
    )


def path_param(name: str, description: str, *, pattern: str | None = None) -> OpenApiParameter:
    return OpenApiParameter(name, str, OpenApiParameter.PATH, description=description, pattern=pattern)


def global_id_path(name: str, *type_names: str) -> OpenApiParameter:
    kinds = " or ".join(type_names)
    return path_param(
        name, f"A {kinds} GlobalID (names are not accepted).", pattern=global_id_pattern(*type_names)
    )


PROJECT_PATH = path_param("identifier", "The project's GlobalID (`UHJvamVjdDox`) or its name.")
PROJECT_NOT_FOUND = "`Project with name <name> not found` or `Project with ID <id> not found`."


def query(name: str, kind: Any, description: str, *, many: bool = False, **extra: Any) -> OpenApiParameter:
    return OpenApiParameter(name, kind, OpenApiParameter.QUERY, description=description, many=many, **extra)


def list_query(
    name: str, description: str, *, items: dict[str, Any] | None = None, max_items: int | None = None
) -> OpenApiParameter:
    """A repeated query parameter (`?name=a&name=b`)."""
    schema: dict[str, Any] = {"type": "array", "items": items or {"type": "string"}}
    if max_items is not None:
        schema["maxItems"] = max_items
    return query(name, schema, description)


def parameter_object(parameter: OpenApiParameter) -> dict[str, Any]:
    """The OpenAPI object of a parameter whose type is a schema, for `get_schema_operation_parameters`."""
    return build_parameter_type(
        name=parameter.name,
        schema=parameter.type,
        location=parameter.location,
        required=parameter.required,
        description=parameter.description,
    )


def limit_param(*, default: int, maximum: int) -> OpenApiParameter:
    return query(
        "limit",
        {"type": "integer", "minimum": 1, "maximum": maximum, "default": default},
        "Rows per page.",
    )


def _cursor_help(type_names: tuple[str, ...]) -> str:
    return f"`next_cursor` of the previous page: a {' or '.join(type_names)} GlobalID, included in this page."


def cursor_param(*type_names: str) -> OpenApiParameter:
    return query("cursor", global_id(*type_names), _cursor_help(type_names))


def cursor_field(*type_names: str) -> PatternField:
    """`cursor` in a QueryParams declaration; paginate_desc reads and checks it."""
    return PatternField(global_id_pattern(*type_names), required=False, help_text=_cursor_help(type_names))


def sync_param(what: str) -> OpenApiParameter:
    return query(
        "sync",
        {"type": "boolean", "default": False},
        f"true: answer once {what} stored, with their ids. false: answer an empty result.",
    )


# The read-only span query behind get_spans_dataframe: viewers may run it.
VIEWER_POSTS = {("/v1/spans", "post")}


def add_common_errors(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """Errors every /v1 operation shares, unless the operation documents that status itself."""
    for path, operations in result["paths"].items():
        for method, operation in operations.items():
            common = {
                401: f"Auth on and no usable key: `{MISSING_KEY}` or `Invalid token`.",
                403: "No API key, from another site's page: `Cross-site request refused: …`.",
                429: "Too many invalid API keys from this address: `try again in <n> seconds`.",
                503: "Database unavailable; nothing was written. Retry later.",
            }
            if method != "get" and (path, method) not in VIEWER_POSTS:
                common[403] = "Viewers cannot perform this action; nor can a request without an API key from "
                "another site's page."
            if "requestBody" in operation:
                common[400] = "The body is not valid JSON: `JSON parse error - <reason>`."
                common[413] = "Request body is larger than the <n> byte limit."
                common[415] = 'Unsupported media type "<type>" in request.'
            for status, text in common.items():
                operation["responses"].setdefault(
                    str(status), {"description": text, "content": {TEXT: {"schema": {"type": "string"}}}}
                )
            if any(parameter.get("in") == "query" for parameter in operation.get("parameters", [])):
                # NulCharacterMiddleware answers a NUL in any query parameter with request-validation JSON.
                invalid = operation["responses"].setdefault(
                    "422", {"description": "A query parameter is invalid; `loc` points at it."}
                )
                invalid.setdefault("content", {}).setdefault(
                    JSON, {"schema": {"$ref": "#/components/schemas/HTTPValidationError"}}
                )
    return result


def _hex_id(size: int) -> dict[str, Any]:
    return {
        "type": "string",
        "pattern": f"^(?!0{{{size}}}$)[0-9a-fA-F]{{{size}}}$",
        "description": "Hex, not all 0",
    }


def _object(properties: dict[str, Any], *, required: tuple[str, ...] = ()) -> dict[str, Any]:
    # Closed, so that generated examples stay requests the route accepts; other fields are ignored.
    schema: dict[str, Any] = {"type": "object", "properties": properties, "additionalProperties": False}
    return {**schema, "required": list(required)} if required else schema


UNIX_NANO = {"type": "string", "pattern": "^[0-9]{1,19}$", "description": "Nanoseconds since the epoch"}
OTLP_ATTRIBUTES = {
    "type": "array",
    "items": _object(
        {
            "key": {"type": "string"},
            "value": {
                **_object(
                    {
                        "stringValue": {"type": "string"},
                        "boolValue": {"type": "boolean"},
                        "intValue": {"type": "string", "pattern": "^-?[0-9]{1,18}$"},
                        "doubleValue": {"type": "number"},
                    }
                ),
                "maxProperties": 1,
                "description": "An AnyValue; arrayValue, kvlistValue and bytesValue are accepted too.",
            },
        },
        required=("key", "value"),
    ),
}
OTLP_SPAN = _object(
    {
        "traceId": _hex_id(32),
        "spanId": _hex_id(16),
        "parentSpanId": {"type": "string", "pattern": "^(?:[0-9a-fA-F]{16})?$"},
        "name": {"type": "string"},
        "kind": {"type": "integer", "minimum": 0, "maximum": 5},
        "startTimeUnixNano": UNIX_NANO,
        "endTimeUnixNano": UNIX_NANO,
        "attributes": OTLP_ATTRIBUTES,
        "status": _object(
            {"code": {"type": "integer", "minimum": 0, "maximum": 2}, "message": {"type": "string"}}
        ),
    },
    required=("traceId", "spanId"),
)
OTLP_JSON_REQUEST = {
    **_object(
        {
            "resourceSpans": {
                "type": "array",
                "items": _object(
                    {
                        "resource": _object({"attributes": OTLP_ATTRIBUTES}),
                        "scopeSpans": {
                            "type": "array",
                            "items": _object({"spans": {"type": "array", "items": OTLP_SPAN}}),
                        },
                    }
                ),
            }
        }
    ),
    "description": "OTLP/JSON (the protobuf JSON mapping with hex ids); the main fields are shown.",
}


def add_otlp_route(result: dict[str, Any], generator: Any, request: Any, public: bool) -> dict[str, Any]:
    """POST /v1/traces is a plain Django view (phoenix_annot/ingest/views.py), so it is described here."""
    binary = {"schema": {"type": "string", "format": "binary"}}
    result["paths"][OTLP_PATH] = {
        "post": {
            "operationId": "exportTraces",
            "summary": "Ingest spans (OTLP/HTTP)",
            "description": "An OpenTelemetry `ExportTraceServiceRequest`, protobuf or OTLP/JSON, optionally "
            "compressed (`Content-Encoding: gzip` or `deflate`). Synchronous: a 200 means every span is "
            "stored. The project is the `x-project-name` header, else the `openinference.project.name` "
            "resource attribute, else `default`.",
            "tags": ["traces"],
            "parameters": [
                {
                    "name": "x-project-name",
                    "in": "header",
                    "required": False,
                    "schema": {"type": "string", "maxLength": PROJECT_NAME_MAX_LENGTH},
                    "description": "Project for every span of the request.",
                },
            ],
            "requestBody": {
                "required": True,
                "content": {"application/x-protobuf": binary, JSON: {"schema": OTLP_JSON_REQUEST}},
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
