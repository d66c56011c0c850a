"""Datasets over REST (PHOENIX_COMPAT.md §3.7): list, read, delete, versions, examples, upload, exports.

Error texts are Phoenix's, typos included: the client and existing scripts match on them.
"""

from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import quote

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet
from django.http import HttpResponse, StreamingHttpResponse
from django.utils.datastructures import MultiValueDict
from django.utils.http import parse_header_parameters
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiRequest,
    OpenApiResponse,
    extend_schema,
    extend_schema_view,
    inline_serializer,
)
from rest_framework import serializers
from rest_framework.exceptions import ParseError
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import BaseParser, DataAndFiles
from rest_framework.renderers import BaseRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from phoenix_annot.core.globalid import GlobalIDError, from_global_id, to_global_id
from phoenix_annot.datasets.exports import (
    ChatReport,
    csv_lines,
    example_ids,
    jsonl_lines,
    openai_evals_lines,
    openai_evals_report,
    openai_ft_lines,
    openai_ft_report,
    with_gold,
)
from phoenix_annot.datasets.models import Dataset, DatasetSplit, DatasetVersion, ExampleRevision
from phoenix_annot.datasets.selectors import (
    dataset_latest_version,
    dataset_versions,
    datasets_with_example_count,
    example_revisions_at_version,
    in_splits,
    splits_at_version,
)
from phoenix_annot.datasets.services import (
    MAX_EXAMPLE_ID_LENGTH,
    MAX_NAME_LENGTH,
    DuplicateDatasetName,
    DuplicateSplitName,
    UnknownExamples,
    dataset_delete,
    dataset_upload,
    split_create,
    split_delete,
    split_update,
)
from phoenix_annot.datasets.uploads import (
    CSV,
    JSONL,
    FilePart,
    TableKeys,
    UploadLimits,
    UploadTooLarge,
    json_values_bound,
    multipart_read,
    table_columns,
)

from ..auth import DATASET_DELETE_DENIED, DatasetDeletion, V1Access
from ..errors import PlainError
from ..lookups import by_identifier
from ..params import paginate_desc, query_bool, query_int, query_list
from ..parsers import BodyLimit, BodyTooLarge, SizeLimitedJSONParser
from ..schema import (
    PatternField,
    cursor_param,
    data_envelope,
    errors,
    global_id,
    global_id_path,
    limit_param,
    list_query,
    page_envelope,
    path_param,
    query,
    sync_param,
)
from ..wire import envelope, iso, page, validated
from .annotations import acting_user

MAX_PAGE_SIZE = 1000


DATASET_ID = global_id_path("dataset_id", "Dataset")
VERSION_ID = query(
    "version_id", global_id("DatasetVersion"), "A DatasetVersion GlobalID; the latest version when absent."
)


class DatasetOut(serializers.Serializer):
    id = serializers.CharField(help_text="Dataset GlobalID")
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    metadata = serializers.DictField()
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()
    example_count = serializers.IntegerField()


class VersionOut(serializers.Serializer):
    version_id = serializers.CharField(help_text="DatasetVersion GlobalID")
    description = serializers.CharField(allow_null=True)
    metadata = serializers.DictField()
    created_at = serializers.DateTimeField()


class ExampleSourceOut(serializers.Serializer):
    span_id = serializers.CharField()
    span_node_id = serializers.CharField(help_text="Span GlobalID")


class ExampleOut(serializers.Serializer):
    id = serializers.CharField(help_text="The example's external id, else its DatasetExample GlobalID")
    node_id = serializers.CharField(help_text="DatasetExample GlobalID")
    input = serializers.DictField()
    output = serializers.DictField()
    metadata = serializers.DictField()
    updated_at = serializers.DateTimeField()
    source = ExampleSourceOut(allow_null=True, help_text="The span the example came from")


class ExamplesOut(serializers.Serializer):
    dataset_id = serializers.CharField()
    version_id = serializers.CharField()
    filtered_splits = serializers.ListField(child=serializers.CharField())
    examples = ExampleOut(many=True)


class UploadOut(serializers.Serializer):
    dataset_id = serializers.CharField()
    version_id = serializers.CharField()
    num_created_examples = serializers.IntegerField()
    num_updated_examples = serializers.IntegerField()
    num_deleted_examples = serializers.IntegerField()


UPLOAD_ACTIONS = ["create", "append", "update"]
SAME_LENGTH = "Empty, or one per input."


def _per_input(child: serializers.Field, help_text: str = SAME_LENGTH) -> serializers.ListField:
    return serializers.ListField(child=child, required=False, help_text=help_text)


JsonUploadInput = inline_serializer(
    "UploadDatasetJsonRequestBody",
    {
        "action": serializers.ChoiceField(choices=UPLOAD_ACTIONS, default="create"),
        "name": PatternField(r"\S", max_length=MAX_NAME_LENGTH),
        "description": serializers.CharField(allow_null=True, allow_blank=True, required=False),
        "inputs": serializers.ListField(child=serializers.DictField(), min_length=1),
        "outputs": _per_input(serializers.DictField()),
        "metadata": _per_input(serializers.DictField()),
        "splits": _per_input(
            serializers.JSONField(),
            f"{SAME_LENGTH} Per input a split name, a list of names, or null (no split); names are global. "
            "Without `splits`, the examples an upload matches keep theirs.",
        ),
        "span_ids": _per_input(serializers.CharField(allow_null=True, allow_blank=True)),
        "example_ids": _per_input(
            serializers.CharField(allow_null=True, allow_blank=True, max_length=MAX_EXAMPLE_ID_LENGTH),
            f"{SAME_LENGTH} Unique; an empty string or null is no id.",
        ),
    },
)
FormUploadInput = OpenApiRequest(
    inline_serializer(
        "UploadDatasetFormRequestBody",
        {
            "action": serializers.ChoiceField(choices=UPLOAD_ACTIONS, default="create"),
            "name": PatternField(r"\S", max_length=MAX_NAME_LENGTH),
            "description": serializers.CharField(required=False, help_text="Empty: the file's name"),
            "input_keys[]": serializers.ListField(child=serializers.CharField(), help_text="Column names."),
            "output_keys[]": serializers.ListField(child=serializers.CharField(), required=False),
            "metadata_keys[]": serializers.ListField(child=serializers.CharField(), required=False),
            "split_key": serializers.CharField(
                required=False, help_text="The column of split names: a name or a JSON list of names per row."
            ),
            "split_keys[]": serializers.ListField(child=serializers.CharField(), required=False),
            "span_id_key": serializers.CharField(required=False),
            "example_id_key": serializers.CharField(required=False),
            "file": serializers.FileField(help_text="CSV or JSONL, optionally with Content-Encoding: gzip"),
        },
    ),
    encoding={"file": {"contentType": f"{CSV}, {JSONL}"}},
)
SPLITS_NOT_FOUND = "`Dataset splits not found: <names>` or `Dataset splits not found for IDs: <ids>`"
EXAMPLES_NOT_FOUND = (
    "`ID <id> refers to a <type>`, `No dataset with id <id> can be found.`, `No dataset version with id "
    f"<id> can be found.`, `Dataset has no versions.`, {SPLITS_NOT_FOUND}."
)
SPLIT_PARAM = list_query(
    "split",
    "Only the examples in any of these splits: DatasetSplit GlobalIDs or names. Membership is not versioned: "
    "an older version is filtered by the splits its examples are in now.",
)

GOLD_PARAM = query(
    "gold",
    {"type": "string", "enum": ["only"]},
    'Beyond Phoenix: `only` keeps the examples that have a gold value (added with "Label from gold").',
)
GOLD_INVALID = "`gold: the only value is 'only'`"


def gold_only(request: Request, revisions: QuerySet[ExampleRevision]) -> QuerySet[ExampleRevision]:
    """`?gold=only`: the examples with a gold value; any other value is refused rather than ignored, since
    a whole dataset returned for a mistyped filter looks like a filtered one."""
    value = request.query_params.get("gold")
    if value is None:
        return revisions
    if value != "only":
        raise PlainError(422, "gold: the only value is 'only'")
    return with_gold(revisions)


def _split_node_pk(value: str) -> int | None:
    try:
        return from_global_id(value, "DatasetSplit")[1]
    except GlobalIDError:
        return None


def requested_splits(request: Request) -> list[DatasetSplit]:
    """The splits `?split=` names (a DatasetSplit GlobalID, else a name), by name; unknown ones are a 404
    in Phoenix's words."""
    values = query_list(request, "split")
    pks = {value: pk for value in values if (pk := _split_node_pk(value)) is not None}
    names = [value for value in values if value not in pks]
    splits = list(DatasetSplit.objects.filter(Q(name__in=names) | Q(pk__in=pks.values())).order_by("name"))
    if missing := [name for name in names if name not in {split.name for split in splits}]:
        raise PlainError(404, f"Dataset splits not found: {', '.join(missing)}")
    found_pks = {split.pk for split in splits}
    if missing_pks := [str(pk) for pk in pks.values() if pk not in found_pks]:
        raise PlainError(404, f"Dataset splits not found for IDs: {', '.join(missing_pks)}")
    return splits


def dataset_data(dataset: Dataset) -> dict[str, Any]:
    """`dataset` must come from `datasets_with_example_count()`."""
    return {
        "id": to_global_id("Dataset", dataset.pk),
        "name": dataset.name,
        "description": dataset.description,
        "metadata": dataset.metadata,
        "created_at": iso(dataset.created_at),
        "updated_at": iso(dataset.updated_at),
        "example_count": dataset.example_count,
    }


def version_data(version: DatasetVersion) -> dict[str, Any]:
    return {
        "version_id": to_global_id("DatasetVersion", version.pk),
        "description": version.description or None,
        "metadata": version.metadata,
        "created_at": iso(version.created_at),
    }


def example_data(revision: ExampleRevision) -> dict[str, Any]:
    """A revision from `example_revisions_at_version`, as an example of that version."""
    example_id, node_id = example_ids(revision)
    source = (
        {"span_id": revision.span_hex, "span_node_id": to_global_id("Span", revision.span_pk)}
        if revision.span_pk
        else None
    )
    return {
        "id": example_id,
        "node_id": node_id,
        "input": revision.input,
        "output": revision.output,
        "metadata": revision.metadata,
        "updated_at": iso(revision.created_at),
        "source": source,
    }


def _decoded(value: str, invalid: str) -> tuple[str, int]:
    try:
        return from_global_id(value)
    except GlobalIDError:
        raise PlainError(422, invalid) from None


def _typed_pk(value: str, type_name: str, invalid: str) -> int:
    decoded_type, pk = _decoded(value, invalid)
    if decoded_type != type_name:
        raise PlainError(422, invalid)
    return pk


def _version(dataset: Dataset, version_id: str | None, version_pk: int) -> DatasetVersion | None:
    """The version `version_id` names (a 404 unless it is one of the dataset's), else the latest one."""
    if not version_id:
        return dataset_latest_version(dataset=dataset)
    version = dataset_versions(dataset=dataset).filter(pk=version_pk).first()
    if version is None:
        raise PlainError(404, f"No dataset version with id {version_id} can be found.")
    return version


def _paged(
    request: Request, rows: QuerySet[Any], type_name: str, data: Callable[[Any], dict[str, Any]]
) -> Response:
    """One page, newest first, of `limit` rows (default 10, as on Phoenix)."""
    limit = query_int(request, "limit", default=10, maximum=MAX_PAGE_SIZE)
    rows_on_page, next_cursor = paginate_desc(rows, request=request, type_name=type_name, limit=limit)
    return Response(page([data(row) for row in rows_on_page], next_cursor))


class DatasetListView(APIView):
    @extend_schema(
        operation_id="listDatasets",
        summary="List datasets, newest first",
        parameters=[
            cursor_param("Dataset"),
            query("name", str, "Only the dataset of exactly this name."),
            limit_param(default=10, maximum=MAX_PAGE_SIZE),
        ],
        responses={
            200: page_envelope("ListDatasetsResponseBody", DatasetOut(many=True)),
            **errors({422: "`Invalid cursor format: <cursor>`"}),
        },
    )
    def get(self, request: Request) -> Response:
        datasets = datasets_with_example_count()
        if name := request.query_params.get("name"):
            datasets = datasets.filter(name=name)
        return _paged(request, datasets, "Dataset", dataset_data)


class DatasetDetailView(APIView):
    permission_classes = [V1Access, DatasetDeletion]

    @extend_schema(
        operation_id="getDataset",
        summary="Read a dataset with its example count",
        parameters=[DATASET_ID],
        responses={
            200: data_envelope("GetDatasetResponseBody", DatasetOut()),
            **errors(
                {
                    404: "`Dataset with ID <id> not found` or `ID <id> refers to a f<type>`.",
                    422: "`Invalid dataset ID format: <id>`",
                },
                validation=False,
            ),
        },
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        type_name, pk = _decoded(dataset_id, f"Invalid dataset ID format: {dataset_id}")
        if type_name != "Dataset":
            # Phoenix's text, stray "f" and all.
            raise PlainError(404, f"ID {dataset_id} refers to a f{type_name}")
        dataset = datasets_with_example_count().filter(pk=pk).first()
        if dataset is None:
            raise PlainError(404, f"Dataset with ID {dataset_id} not found")
        return Response(envelope(dataset_data(dataset)))

    @extend_schema(
        operation_id="deleteDatasetById",
        summary="Delete a dataset with its versions and examples",
        parameters=[DATASET_ID],
        responses={
            204: None,
            **errors(
                {
                    403: f"`{DATASET_DELETE_DENIED}`",
                    404: "`Dataset does not exist`",
                    422: "`Invalid Dataset ID: <id>`",
                },
                validation=False,
            ),
        },
    )
    def delete(self, request: Request, dataset_id: str) -> Response:
        pk = _typed_pk(dataset_id, "Dataset", f"Invalid Dataset ID: {dataset_id}")
        dataset = Dataset.objects.filter(pk=pk).first()
        if dataset is None:
            raise PlainError(404, "Dataset does not exist")
        self.check_object_permissions(request, dataset)
        dataset_delete(dataset=dataset)
        return Response(status=204)


class DatasetVersionListView(APIView):
    @extend_schema(
        operation_id="listDatasetVersionsByDatasetId",
        summary="List a dataset's versions, newest first",
        parameters=[
            DATASET_ID,
            cursor_param("DatasetVersion"),
            limit_param(default=10, maximum=MAX_PAGE_SIZE),
        ],
        responses={
            200: page_envelope("ListDatasetVersionsResponseBody", VersionOut(many=True)),
            **errors({422: "`Invalid Dataset ID: <id>` or `Invalid cursor: <cursor>`"}),
        },
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        pk = _typed_pk(dataset_id, "Dataset", f"Invalid Dataset ID: {dataset_id}")
        if cursor := request.query_params.get("cursor"):
            _typed_pk(cursor, "DatasetVersion", f"Invalid cursor: {cursor}")
        # Like Phoenix, an unknown dataset simply has no versions.
        return _paged(request, DatasetVersion.objects.filter(dataset_id=pk), "DatasetVersion", version_data)


class DatasetExamplesView(APIView):
    @extend_schema(
        operation_id="getDatasetExamples",
        summary="The examples of a dataset version",
        parameters=[
            DATASET_ID,
            VERSION_ID,
            SPLIT_PARAM,
            GOLD_PARAM,
        ],
        responses={
            200: data_envelope("ListDatasetExamplesResponseBody", ExamplesOut()),
            **errors(
                {
                    404: EXAMPLES_NOT_FOUND,
                    422: "`Invalid dataset ID format: <id>`, `Invalid dataset version ID format: <id>` or "
                    f"{GOLD_INVALID}",
                },
                validation=False,
            ),
        },
    )
    def get(self, request: Request, dataset_id: str) -> Response:
        type_name, pk = _decoded(dataset_id, f"Invalid dataset ID format: {dataset_id}")
        version_id = request.query_params.get("version_id")
        version_type, version_pk = (
            _decoded(version_id, f"Invalid dataset version ID format: {version_id}")
            if version_id
            else ("", 0)
        )
        if type_name != "Dataset":
            raise PlainError(404, f"ID {dataset_id} refers to a {type_name}")
        if version_id and version_type != "DatasetVersion":
            raise PlainError(404, f"ID {version_id} refers to a {version_type}")
        dataset = Dataset.objects.filter(pk=pk).first()
        if dataset is None:
            raise PlainError(404, f"No dataset with id {dataset_id} can be found.")
        version = _version(dataset, version_id, version_pk)
        if version is None:
            raise PlainError(404, "Dataset has no versions.")
        splits = requested_splits(request)
        revisions = gold_only(request, example_revisions_at_version(version=version))
        if splits:
            revisions = in_splits(revisions, [split.pk for split in splits])
        return Response(
            envelope(
                {
                    "dataset_id": to_global_id("Dataset", dataset.pk),
                    "version_id": to_global_id("DatasetVersion", version.pk),
                    "filtered_splits": [split.name for split in splits],
                    "examples": [example_data(revision) for revision in revisions],
                }
            )
        )


def upload_limits() -> UploadLimits:
    return UploadLimits(
        file_bytes=settings.DATASET_UPLOAD_MAX_FILE_BYTES,
        examples=settings.DATASET_UPLOAD_MAX_EXAMPLES,
        values=settings.DATASET_UPLOAD_MAX_VALUES,
    )


class DatasetUploadJSONParser(SizeLimitedJSONParser):
    """A JSON upload is held to the limits of an uploaded file's bytes and values before it is decoded: a
    body of `{}`s decodes into 25 times its size in Python objects, so the limits must hold before there
    are any."""

    def decode(self, body: bytes, media_type: str | None, parser_context: Any) -> Any:
        limits = upload_limits()
        try:
            limits.check_bytes(len(body))
            limits.check_values(json_values_bound(body))
        except UploadTooLarge as exc:
            raise BodyTooLarge(exc.messages[0]) from None
        return super().decode(body, media_type, parser_context)


class DatasetUploadMultiPartParser(BaseParser):
    """multipart/form-data that keeps each file part's Content-Encoding (the client gzips its CSV)."""

    media_type = "multipart/form-data"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> DataAndFiles:
        try:
            form = multipart_read(stream, content_type=media_type or "")
        except ValidationError as exc:
            raise ParseError(exc.messages[0]) from None
        return DataAndFiles(MultiValueDict(form.fields), form.files)


class DatasetUploadView(APIView):
    """POST /v1/datasets/upload. `sync=false` does the same work before answering, then answers `null`:
    nothing is queued in memory, so once the response is sent the examples are stored (DESIGN.md §4)."""

    parser_classes = [DatasetUploadJSONParser, DatasetUploadMultiPartParser]

    @property
    def body_limit(self) -> BodyLimit:
        return BodyLimit(
            settings.DATASET_UPLOAD_MAX_BODY_BYTES, "PHOENIX_ANNOT_DATASET_UPLOAD_MAX_BODY_BYTES"
        )

    @extend_schema(
        operation_id="uploadDataset",
        summary="Create a dataset or add a version to it from JSON or a CSV/JSONL file",
        description="`create` fails on an existing name; `append` adds and changes examples; `update` "
        "also deletes the examples not sent. Identical content makes no new version.",
        parameters=[sync_param("the examples are")],
        request={"application/json": JsonUploadInput, "multipart/form-data": FormUploadInput},
        responses={
            200: OpenApiResponse(
                data_envelope("UploadDatasetResponseBody", UploadOut(), nullable=True),
                description="With sync; without it the body is JSON `null`.",
            ),
            **errors(
                {
                    400: "`Missing content-type header`",
                    409: '`A dataset named "<name>" already exists.`',
                    413: "The body, the file once decompressed or its example count is over its limit "
                    "(`PHOENIX_ANNOT_DATASET_UPLOAD_MAX_BODY_BYTES`, `…_MAX_FILE_BYTES`, `…_MAX_EXAMPLES`); "
                    "the message names it.",
                    422: "`Invalid request Content-Type`, `Invalid dateset action: <action>` (sic) or "
                    "another reason the upload cannot be used.",
                }
            ),
        },
    )
    def post(self, request: Request) -> HttpResponse:
        content_type = request.META.get("CONTENT_TYPE", "")
        if not content_type:
            raise PlainError(400, "Missing content-type header")
        media_type = parse_header_parameters(content_type)[0]
        is_json = media_type == "application/json"
        if not is_json and media_type != "multipart/form-data":
            raise PlainError(422, "Invalid request Content-Type")
        self.body_limit.check_declared_length(request.META)
        sync = query_bool(request, "sync", False)
        limits = upload_limits()
        try:
            values = _json_upload(request, limits) if is_json else _form_upload(request, limits)
            result = dataset_upload(**values, user=acting_user(request))
        except UploadTooLarge as exc:
            raise PlainError(413, exc.messages[0]) from None
        except DuplicateDatasetName as exc:
            raise PlainError(409, exc.messages[0]) from None
        except ValidationError as exc:
            raise PlainError(422, "; ".join(exc.messages)) from None
        except ParseError as exc:
            raise PlainError(422, str(exc.detail)) from None
        if not sync:
            return HttpResponse(b"null", content_type="application/json")
        return Response(
            envelope(
                {
                    "dataset_id": to_global_id("Dataset", result.dataset.pk),
                    "version_id": to_global_id("DatasetVersion", result.version.pk),
                    "num_created_examples": result.created,
                    "num_updated_examples": result.updated,
                    "num_deleted_examples": result.deleted,
                }
            )
        )


JSON_UPLOAD_FIELDS = (
    "action",
    "name",
    "description",
    "inputs",
    "outputs",
    "metadata",
    "span_ids",
    "example_ids",
    "splits",
)


def _json_upload(request: Request, limits: UploadLimits) -> dict[str, Any]:
    body = request.data
    if not isinstance(body, dict):
        raise ValidationError("The request body must be a JSON object")
    if isinstance(inputs := body.get("inputs"), list):
        limits.check_examples(len(inputs))
    return {key: body.get(key) for key in JSON_UPLOAD_FIELDS}


def _form_upload(request: Request, limits: UploadLimits) -> dict[str, Any]:
    form = request.data
    file = request.FILES.get("file")
    if not isinstance(file, FilePart):
        raise ValidationError("Malformed file in form data.")
    split_key, split_keys = form.get("split_key"), form.getlist("split_keys[]")
    if split_key and any(split_keys):
        raise ValidationError("Send split_key or split_keys[], not both")
    if any(form.getlist("flatten_keys[]")):
        raise ValidationError("flatten_keys[] is not supported")
    keys = TableKeys(
        input=_keys(form, "input_keys[]"),
        output=_keys(form, "output_keys[]"),
        metadata=_keys(form, "metadata_keys[]"),
        split=frozenset(filter(None, [split_key, *split_keys])),
        span_id=form.get("span_id_key") or None,
        example_id=form.get("example_id_key") or None,
    )
    with file.content:
        columns = table_columns(file, keys, limits=limits)
    return {
        "action": form.get("action"),
        "name": form.get("name"),
        # Phoenix names a dataset uploaded without a description after its file.
        "description": form.get("description") or file.filename,
        "inputs": columns.inputs,
        "outputs": columns.outputs,
        "metadata": columns.metadata,
        "span_ids": columns.span_ids,
        "example_ids": columns.example_ids,
        # No split column: the upload says nothing of splits, so matched examples keep theirs.
        "splits": columns.splits if keys.split else None,
    }


def _keys(form: MultiValueDict, name: str) -> frozenset[str]:
    return frozenset(filter(None, form.getlist(name)))


class _IgnoreAccept(BaseContentNegotiation):
    """Exports answer their one format whatever the Accept header asks for."""

    def select_parser(self, request: Request, parsers: list[BaseParser]) -> BaseParser | None:
        return parsers[0] if parsers else None

    def select_renderer(
        self, request: Request, renderers: list[BaseRenderer], format_suffix: str | None = None
    ) -> tuple[BaseRenderer, str]:
        return renderers[0], renderers[0].media_type


class DatasetExportView(APIView):
    content_negotiation_class = _IgnoreAccept
    extension = "jsonl"
    content_type = "text/plain; charset=utf-8"
    lines: Callable[[QuerySet[ExampleRevision]], Iterator[str]]
    # Set for the exports that leave out examples that are not chats.
    report: Callable[[QuerySet[ExampleRevision]], ChatReport] | None = None

    def get(self, request: Request, dataset_id: str) -> StreamingHttpResponse:
        pk = _typed_pk(dataset_id, "Dataset", f"Invalid dataset ID format: {dataset_id}")
        version_id = request.query_params.get("version_id")
        version_pk = (
            _typed_pk(version_id, "DatasetVersion", f"Invalid dataset version ID format: {version_id}")
            if version_id
            else 0
        )
        dataset = Dataset.objects.filter(pk=pk).first()
        if dataset is None:
            raise PlainError(422, "Dataset does not exist.")
        version = _version(dataset, version_id, version_pk)
        revisions = gold_only(
            request,
            example_revisions_at_version(version=version) if version else ExampleRevision.objects.none(),
        )
        if splits := requested_splits(request):
            revisions = in_splits(revisions, [split.pk for split in splits])
        response = StreamingHttpResponse(self.lines(revisions), content_type=self.content_type)
        response["Content-Disposition"] = (
            f"attachment; filename*=UTF-8''{quote(dataset.name)}.{self.extension}"
        )
        if self.report is not None:
            # Say how many examples were left out, so that a short file is explained.
            response["X-Skipped-Examples"] = str(self.report(revisions).skipped_rows)
        return response


def export_schema(operation_id: str, what: str, media_type: str) -> Any:
    return extend_schema_view(
        get=extend_schema(
            operation_id=operation_id,
            summary=f"Download a dataset version as {what}",
            description="Beyond Phoenix, which ignores it: `split` keeps the examples of those splits; "
            "`gold=only` keeps those with a gold value.",
            parameters=[DATASET_ID, VERSION_ID, SPLIT_PARAM, GOLD_PARAM],
            responses={
                (200, media_type): OpenApiResponse(OpenApiTypes.STR, description="An attachment"),
                **errors(
                    {
                        404: f"`No dataset version with id <id> can be found.` or {SPLITS_NOT_FOUND}",
                        422: "`Invalid dataset ID format: <id>`, `Invalid dataset version ID format: <id>`, "
                        f"`Dataset does not exist.` or {GOLD_INVALID}",
                    },
                    validation=False,
                ),
            },
        )
    )


@export_schema("getDatasetCsv", "CSV", "text/csv")
class DatasetCsvView(DatasetExportView):
    extension = "csv"
    content_type = "text/csv"
    lines = staticmethod(csv_lines)


@export_schema("getDatasetJSONL", "JSON lines", "text/plain")
class DatasetJsonlView(DatasetExportView):
    lines = staticmethod(jsonl_lines)


@export_schema("getDatasetJSONLOpenAIFineTuning", "OpenAI fine-tuning JSON lines (chats only)", "text/plain")
class DatasetOpenAIFineTuningView(DatasetExportView):
    lines = staticmethod(openai_ft_lines)
    report = staticmethod(openai_ft_report)


@export_schema("getDatasetJSONLOpenAIEvals", "OpenAI evals JSON lines (chats only)", "text/plain")
class DatasetOpenAIEvalsView(DatasetExportView):
    lines = staticmethod(openai_evals_lines)
    report = staticmethod(openai_evals_report)


# --- splits ------------------------------------------------------------------------------------------------

DATASET_IDENTIFIER = path_param("dataset_identifier", "The dataset's GlobalID or its name.")
SPLIT_ID = global_id_path("split_id", "DatasetSplit")
DATASET_NOT_FOUND = "`Dataset with name <name> not found` or `Dataset with ID <id> not found`"
SPLIT_DELETE_DENIED = "Only admins and the split's creator can delete a split."


class SplitOut(serializers.Serializer):
    id = serializers.CharField(help_text="DatasetSplit GlobalID")
    name = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    color = serializers.CharField()
    metadata = serializers.DictField()
    example_count = serializers.IntegerField(
        help_text="This dataset's examples in the split, at its latest version"
    )
    created_at = serializers.DateTimeField()
    updated_at = serializers.DateTimeField()


class StrictText(serializers.CharField):
    """A JSON string, as pydantic takes one: a number is refused, not turned into text."""

    def to_internal_value(self, data: Any) -> str:
        if not isinstance(data, str):
            raise serializers.ValidationError("Input should be a valid string", code="string_type")
        return super().to_internal_value(data)


def _text(**kwargs: Any) -> StrictText:
    return StrictText(allow_blank=True, trim_whitespace=False, **kwargs)


class SplitCreateIn(serializers.Serializer):
    name = _text(help_text="Unique across datasets; blank is refused.")
    description = _text(allow_null=True, required=False)
    color = _text(allow_null=True, required=False, help_text="#33c5e8 when absent")
    metadata = serializers.DictField(required=False)
    example_ids = serializers.ListField(
        child=_text(), required=False, help_text="Examples of this dataset: GlobalIDs or uploaders' ids."
    )


class SplitUpdateIn(serializers.Serializer):
    name = _text(allow_null=True, required=False)
    description = _text(allow_null=True, required=False, help_text="null clears it")
    color = _text(allow_null=True, required=False)
    metadata = serializers.DictField(allow_null=True, required=False, help_text="Replaces the metadata.")
    add_example_ids = serializers.ListField(child=_text(), required=False)
    remove_example_ids = serializers.ListField(child=_text(), required=False)


def _splits_counted(dataset: Dataset) -> QuerySet[DatasetSplit]:
    latest = dataset_latest_version(dataset=dataset)
    return splits_at_version(version=latest) if latest else DatasetSplit.objects.none()


def split_data(split: DatasetSplit, example_count: int) -> dict[str, Any]:
    return {
        "id": to_global_id("DatasetSplit", split.pk),
        "name": split.name,
        "description": split.description or None,
        "color": split.color,
        "metadata": split.metadata,
        "example_count": example_count,
        "created_at": iso(split.created_at),
        "updated_at": iso(split.updated_at),
    }


def _split_answer(dataset: Dataset, split: DatasetSplit, status: int = 200) -> Response:
    counted = _splits_counted(dataset).filter(pk=split.pk).first()
    return Response(envelope(split_data(split, counted.example_count if counted else 0)), status=status)


def _split_errors(call: Callable[[], DatasetSplit]) -> DatasetSplit:
    """The service's refusals in Phoenix's statuses."""
    try:
        return call()
    except DuplicateSplitName as exc:
        raise PlainError(409, exc.messages[0]) from None
    except UnknownExamples as exc:
        raise PlainError(404, exc.messages[0]) from None
    except ValidationError as exc:
        raise PlainError(422, "; ".join(exc.messages)) from None


class DatasetSplitListView(APIView):
    @extend_schema(
        operation_id="listDatasetSplits",
        summary="The splits holding examples of a dataset, newest first",
        description="A split is global; each counts this dataset's examples in it, at the latest version.",
        parameters=[DATASET_IDENTIFIER, cursor_param("DatasetSplit"), limit_param(default=10, maximum=1000)],
        responses={
            200: page_envelope("ListDatasetSplitsResponseBody", SplitOut(many=True)),
            **errors({404: DATASET_NOT_FOUND, 422: "`Invalid cursor format: <cursor>`"}),
        },
    )
    def get(self, request: Request, dataset_identifier: str) -> Response:
        dataset = by_identifier(Dataset, "Dataset", dataset_identifier)
        limit = query_int(request, "limit", default=10, maximum=1000)
        splits, next_cursor = paginate_desc(
            _splits_counted(dataset), request=request, type_name="DatasetSplit", limit=limit
        )
        return Response(page([split_data(split, split.example_count) for split in splits], next_cursor))

    @extend_schema(
        operation_id="createDatasetSplit",
        summary="Create a split, optionally holding examples of this dataset",
        parameters=[DATASET_IDENTIFIER],
        request=SplitCreateIn,
        responses={
            201: data_envelope("CreateDatasetSplitResponseBody", SplitOut()),
            **errors(
                {
                    404: f"{DATASET_NOT_FOUND}, or `Dataset examples not found in this dataset: <ids>`",
                    409: "`A dataset split named '<name>' already exists`",
                    422: "`Dataset split name cannot be empty`",
                }
            ),
        },
    )
    def post(self, request: Request, dataset_identifier: str) -> Response:
        dataset = by_identifier(Dataset, "Dataset", dataset_identifier)
        values = validated(SplitCreateIn, request.data)
        split = _split_errors(lambda: split_create(dataset=dataset, **values, user=acting_user(request)))
        return _split_answer(dataset, split, status=201)


class SplitDeletion(DatasetDeletion):
    """After V1Access: a split, which every dataset shares, is deleted by an admin or by whoever made it."""

    message = SPLIT_DELETE_DENIED


class DatasetSplitDetailView(APIView):
    permission_classes = [V1Access, SplitDeletion]

    def _split(self, dataset_identifier: str, split_id: str) -> tuple[Dataset, DatasetSplit]:
        dataset = by_identifier(Dataset, "Dataset", dataset_identifier)
        pk = _typed_pk(split_id, "DatasetSplit", f"Invalid dataset split ID: {split_id}")
        split = DatasetSplit.objects.filter(pk=pk).first()
        if split is None:
            raise PlainError(404, f"Dataset split with ID {split_id} not found")
        return dataset, split

    @extend_schema(
        operation_id="updateDatasetSplit",
        summary="Rename or describe a split, and add or remove examples of this dataset",
        parameters=[DATASET_IDENTIFIER, SPLIT_ID],
        request=SplitUpdateIn,
        responses={
            200: data_envelope("UpdateDatasetSplitResponseBody", SplitOut()),
            **errors(
                {
                    404: f"{DATASET_NOT_FOUND}, `Dataset split with ID <id> not found` or `Dataset examples "
                    "not found in this dataset: <ids>`",
                    409: "`A dataset split with this name already exists`",
                    422: "`Invalid dataset split ID: <id>` or `Dataset split name cannot be empty`",
                }
            ),
        },
    )
    def patch(self, request: Request, dataset_identifier: str, split_id: str) -> Response:
        dataset, split = self._split(dataset_identifier, split_id)
        values = validated(SplitUpdateIn, request.data)
        add_ids, remove_ids = values.pop("add_example_ids", []), values.pop("remove_example_ids", [])
        split = _split_errors(
            lambda: split_update(
                split=split,
                dataset=dataset,
                changes=values,
                add_example_ids=add_ids,
                remove_example_ids=remove_ids,
            )
        )
        return _split_answer(dataset, split)

    @extend_schema(
        operation_id="deleteDatasetSplit",
        summary="Delete a split: it leaves every dataset, the examples stay",
        parameters=[DATASET_IDENTIFIER, SPLIT_ID],
        responses={
            204: None,
            **errors(
                {
                    403: f"`{SPLIT_DELETE_DENIED}`",
                    404: f"{DATASET_NOT_FOUND} or `Dataset split with ID <id> not found`",
                    422: "`Invalid dataset split ID: <id>`",
                },
                validation=False,
            ),
        },
    )
    def delete(self, request: Request, dataset_identifier: str, split_id: str) -> Response:
        _dataset, split = self._split(dataset_identifier, split_id)
        self.check_object_permissions(request, split)
        split_delete(split=split)
        return Response(status=204)
