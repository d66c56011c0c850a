"""Document annotations over REST: Phoenix's write (PHOENIX_COMPAT_SESSIONS.md) and a read Phoenix has
only in GraphQL, shaped and paged like the span annotation list.

A document is one entry of a span's `retrieval.documents`, named by the span and its 0-based position.
"""

from dataclasses import replace
from typing import Any

from rest_framework import serializers

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import AnnotationSource, DocumentAnnotation
from phoenix_annot.annotations.services import (
    AnnotationWrite,
    DocumentOutOfBounds,
    document_annotations_upsert,
)

from ..errors import PlainError
from .annotations import (
    AnnotationWriteView,
    ProjectAnnotationsView,
    SpanAnnotationInput,
    SpanTarget,
    read_schema,
    write_schema,
)


class DocumentAnnotationInput(SpanAnnotationInput):
    # Any integer: one outside the span's documents is Phoenix's text/plain 422, not a validation error.
    document_position = serializers.IntegerField(
        help_text="0-based index into the span's retrieval.documents."
    )


class DocumentTarget(SpanTarget):
    """Documents live on spans: a missing span is Phoenix's `Spans with IDs ... do not exist.`, and a note
    about them is a span note."""

    model = DocumentAnnotation
    input_class = DocumentAnnotationInput
    type_name = "DocumentAnnotation"
    notes_of = "span notes"
    extra_fields = ("document_position",)

    @property
    def body_name(self) -> str:
        return "SpanDocuments"

    def upsert(self, writes: list[AnnotationWrite], *, user: User | None, sync: bool) -> list[int | None]:
        for write in writes:
            if write.identifier:
                raise PlainError(422, f"Non-empty identifier '{write.identifier}' is not supported")
        try:
            return document_annotations_upsert(
                writes=writes, source=AnnotationSource.API, user=user, keep_missing=not sync
            )
        except DocumentOutOfBounds as out_of_bounds:
            raise PlainError(422, out_of_bounds.messages[0]) from None


DOCUMENTS = DocumentTarget()


@write_schema(
    DOCUMENTS,
    "annotateSpanDocuments",
    missing="`document_position` must fall within the span's documents: `Document position <n> is out of "
    "bounds for span <span_id> (max: <n>)` (422); a non-empty identifier is `Non-empty identifier '<id>' is "
    "not supported` (422). With sync, a missing span fails the whole request; without sync, annotations of "
    "spans not ingested yet wait for them (Phoenix drops bad rows of a sync=false request quietly; here a "
    "stored span's bad position is refused either way).",
)
class DocumentAnnotationWriteView(AnnotationWriteView):
    target = DOCUMENTS

    def plain_writes(self, body: Any) -> list[AnnotationWrite] | None:
        # The fast path reads the shared fields only: documents go through the serializers.
        return None

    def _write(self, item: dict[str, Any]) -> AnnotationWrite:
        return replace(super()._write(item), document_position=item["document_position"])


@read_schema(DOCUMENTS, "listDocumentAnnotationsBySpanIds", "deleteDocumentAnnotations")
class ProjectDocumentAnnotationsView(ProjectAnnotationsView):
    """Not in Phoenix's REST API (its UI reads them through GraphQL): the span annotation list's parameters,
    paging and shape, each item with its `document_position`."""

    target = DOCUMENTS
