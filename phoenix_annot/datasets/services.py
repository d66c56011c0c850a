"""Dataset writes. Every change to a dataset's examples makes one version; nothing is edited in place."""

import hashlib
import json
import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property
from itertools import chain
from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.utils import timezone

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import NOTE_NAME, SpanAnnotation
from phoenix_annot.core.batching import chunks
from phoenix_annot.core.bulk import bulk_insert
from phoenix_annot.core.globalid import GlobalIDError, from_global_id
from phoenix_annot.core.jsonsafe import is_storable_json
from phoenix_annot.corrections.selectors import winning_span_corrections
from phoenix_annot.tracing.models import Span

from .models import (
    Dataset,
    DatasetExample,
    DatasetSplit,
    DatasetSplitExample,
    DatasetVersion,
    ExampleRevision,
    RevisionKind,
)
from .selectors import dataset_latest_version, example_revisions_at_version
from .spans import span_example

# One add reads every span with its attributes and annotations into memory; past this, narrow the filter.
MAX_SPANS_PER_ADD = 10_000
MAX_NAME_LENGTH = Dataset._meta.get_field("name").max_length
MAX_EXAMPLE_ID_LENGTH = DatasetExample._meta.get_field("external_id").max_length
MAX_SPLIT_NAME_LENGTH = DatasetSplit._meta.get_field("name").max_length
SPLIT_NAME_EMPTY = "Dataset split name cannot be empty"
# Past 2**53 a double no longer holds every integer: larger numbers are compared as the double they round to.
MAX_EXACT_INTEGER = 2**53
# Rows read at a time when a whole version is read.
CHUNK_SIZE = 500


class DuplicateDatasetName(ValidationError):
    pass


class DuplicateSplitName(ValidationError):
    pass


class UnknownExamples(ValidationError):
    """Example ids that name no example of the dataset (Phoenix: a 404)."""


class UploadAction(StrEnum):
    CREATE = "create"
    APPEND = "append"
    UPDATE = "update"


@dataclass(frozen=True)
class UploadResult:
    dataset: Dataset
    version: DatasetVersion
    created: int
    updated: int
    deleted: int


@dataclass(frozen=True)
class Incoming:
    """One uploaded example, with the hash its content is matched by."""

    input: dict[str, Any]
    output: dict[str, Any]
    metadata: dict[str, Any]
    span_id: str | None
    external_id: str | None
    # None: the upload said nothing of this example's splits, so an example it matches keeps its own.
    splits: frozenset[str] | None = None

    @cached_property
    def content_hash(self) -> bytes:
        return content_hash(self.input, self.output, self.metadata)


def content_hash(input: dict[str, Any], output: dict[str, Any], metadata: dict[str, Any]) -> bytes:
    """SHA-256 of the canonical JSON of the content: key order does not matter, list order does."""
    canonical = json.dumps(
        _canonical_numbers({"input": input, "metadata": metadata, "output": output}),
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    return hashlib.sha256(canonical.encode()).digest()


def _canonical_numbers(value: Any) -> Any:
    """Numbers compared as JSON doubles, as RFC 8785 does: 1.0 is 1, and 1e16 is 10000000000000000.

    PostgreSQL's jsonb gives a float like 1e16 back as that integer; without this, re-uploading the same
    content would not match what was stored, and `update` would stop being idempotent.
    """
    if isinstance(value, dict):
        return {key: _canonical_numbers(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_canonical_numbers(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_EXACT_INTEGER:
        try:
            value = float(value)
        except OverflowError:
            return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def dataset_create(
    *, name: str, description: str = "", metadata: dict[str, Any] | None = None, user: User | None = None
) -> Dataset:
    _validate_name(name)
    try:
        with transaction.atomic():
            return Dataset.objects.create(
                name=name, description=description, metadata=metadata or {}, user=user
            )
    except IntegrityError:
        raise _name_taken(name) from None


def dataset_delete(*, dataset: Dataset) -> None:
    """Delete the dataset with all its versions and examples; the spans they came from stay."""
    dataset.delete()


@dataclass(frozen=True)
class SpansAdded:
    """What an add did: the version it made (None when nothing was new), and how many spans were new and
    how many were examples of the latest version already."""

    version: DatasetVersion | None
    added: int
    already: int


def dataset_add_spans(
    *,
    dataset: Dataset,
    spans: QuerySet[Span] | Sequence[Span],
    user: User | None,
    split_name: str | None = None,
    from_gold: bool = False,
) -> SpansAdded:
    """Add one example per span that is not an example yet, as one new version; no version when none is new.

    A span whose example was deleted by a later version comes back as that same example (the span stays
    linked to one example per dataset). With `split_name`, every span's example, new or not, is put in that
    split too. A corrected output becomes the example's output; `from_gold` adds the gold labels (spans.py).
    Queries do not grow with the number of spans.
    """
    spans = list(spans[: MAX_SPANS_PER_ADD + 1] if isinstance(spans, QuerySet) else spans)
    if len(spans) > MAX_SPANS_PER_ADD:
        raise ValidationError(f"Add at most {MAX_SPANS_PER_ADD:,} spans at a time; narrow the selection.")
    if split_name is not None:
        split_name = _split_name(split_name)
    annotations = _annotations_by_span([span.pk for span in spans])
    corrections = winning_span_corrections(spans)
    with transaction.atomic():
        dataset_lock(dataset)
        holders = dict(
            DatasetExample.objects.filter(dataset=dataset, span__in=[span.pk for span in spans]).values_list(
                "span_id", "pk"
            )
        )
        live = _live_example_pks(dataset, among=holders.values())
        distinct = {span.pk: span for span in spans}
        to_add = [span for span in distinct.values() if holders.get(span.pk) not in live]
        already = len(distinct) - len(to_add)
        version = dataset_version_create(dataset=dataset, user=user) if to_add else None
        new_examples = DatasetExample.objects.bulk_create(
            DatasetExample(dataset=dataset, span=span) for span in to_add if span.pk not in holders
        )
        example_pks = {example.span_id: example.pk for example in new_examples} | holders
        if version is not None:
            bulk_insert(
                ExampleRevision,
                [
                    {
                        "example_id": example_pks[span.pk],
                        "version_id": version.pk,
                        **span_example(
                            span,
                            annotations.get(span.pk, []),
                            correction=corrections.get(span.pk),
                            from_gold=from_gold,
                        ),
                        "revision_kind": RevisionKind.CREATE,
                    }
                    for span in to_add
                ],
            )
        if split_name is not None:
            splits_assign(example_pks=example_pks.values(), split_name=split_name, user=user)
    return SpansAdded(version=version, added=len(to_add), already=already)


def _annotations_by_span(span_pks: list[int]) -> dict[int, list[SpanAnnotation]]:
    """The spans' annotations (notes left out) by span, oldest first; one query a batch, unlike a
    prefetch, whose per-span querysets cost more than the query itself."""
    grouped: dict[int, list[SpanAnnotation]] = defaultdict(list)
    for chunk in chunks(span_pks):
        rows = SpanAnnotation.objects.filter(span_id__in=chunk).exclude(name=NOTE_NAME).select_related("user")
        for annotation in rows.order_by("pk"):
            grouped[annotation.span_id].append(annotation)
    return grouped


def dataset_upload(
    *,
    action: str | None,
    name: Any,
    description: Any,
    inputs: Any,
    outputs: Any = None,
    metadata: Any = None,
    span_ids: Any = None,
    example_ids: Any = None,
    splits: Any = None,
    user: User | None,
) -> UploadResult:
    """Phoenix's `POST /v1/datasets/upload` (PHOENIX_COMPAT.md §3.7), on already-decoded values.

    `create` refuses an existing name; `append` adds new examples and patches matched ones; `update` also
    deletes the previous examples nothing matched, so the dataset converges on the upload. An incoming
    example matches a previous one by its id (external id, or a DatasetExample GlobalID) or, without an id,
    by content. An upload that changes nothing makes no version and answers the latest one.
    """
    _validate_name(name)
    if description is not None and not isinstance(description, str):
        raise ValidationError("description should be a string")
    incoming = _incoming(inputs, outputs, metadata, span_ids, example_ids, splits)
    upload_action = _action(action)
    with transaction.atomic():
        dataset = _dataset_for_upload(
            name=name, description=description or "", user=user, create=upload_action == UploadAction.CREATE
        )
        latest = dataset_latest_version(dataset=dataset)
        previous = _previous(latest) if latest else []
        plan = _plan(incoming, previous, keep_unmatched=upload_action == UploadAction.APPEND)
        if latest is not None and plan.is_empty:
            version, created_pks = latest, []
        else:
            version = dataset_version_create(dataset=dataset, user=user)
            created_pks = _revisions_write(dataset=dataset, version=version, plan=plan, previous=previous)
        # Phoenix counts an example whose splits alone changed as updated, without a new version.
        regrouped = _memberships_set(
            {
                pk: item.splits
                for pk, item in chain(plan.patches, plan.kept, zip(created_pks, plan.creates, strict=True))
                if item.splits is not None
            },
            user=user,
        )
    updated = len(plan.patches) + len(regrouped & {pk for pk, _item in plan.kept})
    return UploadResult(dataset, version, len(plan.creates), updated, len(plan.deletes))


@dataclass(frozen=True)
class _Plan:
    creates: list[Incoming]
    patches: list[tuple[int, Incoming]]
    deletes: list[int]
    # Matched examples whose content is unchanged: no revision, but their splits may still change.
    kept: list[tuple[int, Incoming]] = field(default_factory=list)

    @property
    def is_empty(self) -> bool:
        return not (self.creates or self.patches or self.deletes)


@dataclass(frozen=True)
class _PreviousExample:
    """What matching needs of an example of the latest version, without its content."""

    example_id: int
    external_id: str | None
    content_hash: bytes


def _previous(version: DatasetVersion) -> list[_PreviousExample]:
    """The examples of `version`, each read, hashed and let go: an update never holds the previous
    version's content in memory beside the upload's (bench/upload_memory.py)."""
    return [
        _PreviousExample(revision.example_id, revision.external_id, revision_hash(revision))
        for revision in example_revisions_at_version(version=version).iterator(chunk_size=CHUNK_SIZE)
    ]


def _plan(incoming: list[Incoming], previous: list[_PreviousExample], *, keep_unmatched: bool) -> _Plan:
    """Pair incoming examples with previous ones: ids first, then content for the examples without one."""
    hashes = {example.example_id: example.content_hash for example in previous}
    matches = _match_by_id(incoming, previous)
    matched_by_id = set(matches.values())
    unmatched_by_hash: dict[bytes, list[int]] = defaultdict(list)
    for pk, digest in hashes.items():
        if pk not in matched_by_id:
            unmatched_by_hash[digest].append(pk)
    creates: list[Incoming] = []
    patches: list[tuple[int, Incoming]] = []
    kept: list[tuple[int, Incoming]] = []
    for index, item in enumerate(incoming):
        pk = matches.get(index)
        if pk is None and item.external_id is None and unmatched_by_hash[item.content_hash]:
            pk = unmatched_by_hash[item.content_hash].pop(0)
            matches[index] = pk
        if pk is None:
            creates.append(item)
        elif hashes[pk] != item.content_hash:
            patches.append((pk, item))
        else:
            kept.append((pk, item))
    matched = set(matches.values())
    deletes = [] if keep_unmatched else [pk for pk in hashes if pk not in matched]
    return _Plan(creates, patches, deletes, kept)


def _match_by_id(incoming: list[Incoming], previous: list[_PreviousExample]) -> dict[int, int]:
    """Incoming index -> previous example pk, for incoming examples whose id names a previous example."""
    live = {example.example_id for example in previous}
    by_external_id = {example.external_id: example.example_id for example in previous if example.external_id}
    matches: dict[int, int] = {}
    matched: set[int] = set()
    unknown: list[str] = []
    for index, item in enumerate(incoming):
        if item.external_id is None:
            continue
        node_pk = _example_node_pk(item.external_id)
        if node_pk is not None and node_pk not in live:
            unknown.append(item.external_id)
            continue
        pk = node_pk if node_pk is not None else by_external_id.get(item.external_id)
        if pk is None:
            continue
        if pk in matched:
            raise ValidationError(f"Two example ids refer to the same example: {item.external_id}")
        matches[index] = pk
        matched.add(pk)
    if unknown:
        raise ValidationError(
            f"No examples found in this dataset with the following IDs: {', '.join(unknown)}"
        )
    return matches


def _example_node_pk(value: str) -> int | None:
    try:
        return from_global_id(value, "DatasetExample")[1]
    except GlobalIDError:
        return None


def revision_hash(revision: ExampleRevision) -> bytes:
    """What a revision holds, hashed: two revisions with the same hash hold the same example."""
    return content_hash(revision.input, revision.output, revision.metadata)


def _revisions_write(
    *, dataset: Dataset, version: DatasetVersion, plan: _Plan, previous: list[_PreviousExample]
) -> list[int]:
    """Write the plan's revisions; the example pk of each of `plan.creates`, in order."""
    staying = {example.example_id for example in previous} - set(plan.deletes)
    created_pks = _examples_for_creates(dataset=dataset, creates=plan.creates, staying=staying)
    revisions = chain(
        (
            ExampleRevision(example_id=pk, version=version, revision_kind=RevisionKind.DELETE)
            for pk in plan.deletes
        ),
        (revision_row(pk, version, item, RevisionKind.PATCH) for pk, item in plan.patches),
        (
            revision_row(pk, version, item, RevisionKind.CREATE)
            for pk, item in zip(created_pks, plan.creates, strict=True)
        ),
    )
    # Built and written a batch at a time: tens of thousands of model instances at once would cost more
    # memory than the upload's own values.
    for batch in chunks(revisions):
        ExampleRevision.objects.bulk_create(batch)
    return created_pks


def revision_row(pk: int, version: DatasetVersion, item: Incoming, kind: RevisionKind) -> ExampleRevision:
    """The unsaved revision of example `pk` in `version` holding `item`."""
    return ExampleRevision(
        example_id=pk,
        version=version,
        input=item.input,
        output=item.output,
        metadata=item.metadata,
        revision_kind=kind,
    )


def _examples_for_creates(*, dataset: Dataset, creates: list[Incoming], staying: set[int]) -> list[int]:
    """The example row of each created example, in order: a deleted example with the same external id comes
    back as itself; every other one is a new row, linked to its span when it can be."""
    external_ids = [item.external_id for item in creates if item.external_id is not None]
    revived = dict(
        DatasetExample.objects.filter(dataset=dataset, external_id__in=external_ids).values_list(
            "external_id", "pk"
        )
    )
    fresh = [item for item in creates if item.external_id not in revived]
    span_pks = _span_links(
        dataset=dataset,
        span_ids=[item.span_id for item in fresh],
        staying=staying | set(revived.values()),
    )
    rows = DatasetExample.objects.bulk_create(
        DatasetExample(
            dataset=dataset, external_id=item.external_id, span_id=span_pks.pop(item.span_id, None)
        )
        for item in fresh
    )
    pks = iter(row.pk for row in rows)
    return [revived[item.external_id] if item.external_id in revived else next(pks) for item in creates]


def _span_links(*, dataset: Dataset, span_ids: Iterable[str | None], staying: set[int]) -> dict[str, int]:
    """OTel span id -> span pk for the spans new examples may link to; unknown ids are left unlinked.

    A span links to one example per dataset: an example that stays keeps its span (the newcomer is
    unlinked), an example deleted now or before hands its span over.
    """
    known = dict(Span.objects.filter(span_id__in={s for s in span_ids if s}).values_list("span_id", "pk"))
    holders = dict(
        DatasetExample.objects.filter(dataset=dataset, span_id__in=known.values()).values_list(
            "span_id", "pk"
        )
    )
    DatasetExample.objects.filter(pk__in=[pk for pk in holders.values() if pk not in staying]).update(
        span=None
    )
    return {span_id: pk for span_id, pk in known.items() if holders.get(pk) not in staying}


def _live_example_pks(dataset: Dataset, *, among: Iterable[int]) -> set[int]:
    """Which of the examples `among` are live at the dataset's latest version."""
    among = list(among)
    latest = dataset_latest_version(dataset=dataset) if among else None
    if latest is None:
        return set()
    revisions = example_revisions_at_version(version=latest).filter(example_id__in=among)
    return set(revisions.values_list("example_id", flat=True))


def dataset_lock(dataset: Dataset) -> None:
    """Serialise writers of one dataset, so each diffs against the other's result, not the same old state."""
    if not Dataset.objects.select_for_update().filter(pk=dataset.pk).values_list("pk", flat=True):
        raise ValidationError("The dataset no longer exists")


def dataset_version_create(*, dataset: Dataset, user: User | None, description: str = "") -> DatasetVersion:
    """A new version of `dataset`, to hold the revisions the caller writes next, under `dataset_lock`."""
    version = DatasetVersion.objects.create(dataset=dataset, user=user, description=description)
    # The dataset's "last updated" is when its examples last changed.
    Dataset.objects.filter(pk=dataset.pk).update(updated_at=timezone.now())
    return version


def _dataset_for_upload(*, name: str, description: str, user: User | None, create: bool) -> Dataset:
    # Locked, as `dataset_lock` does, for the same reason.
    dataset = Dataset.objects.select_for_update().filter(name=name).first()
    if dataset is not None:
        if create:
            raise _name_taken(name)
        return dataset
    try:
        with transaction.atomic():
            return Dataset.objects.create(name=name, description=description, user=user)
    except IntegrityError:
        # Another upload created it since the lookup.
        if create:
            raise _name_taken(name) from None
        return Dataset.objects.select_for_update().get(name=name)


def _name_taken(name: str) -> DuplicateDatasetName:
    return DuplicateDatasetName(f'A dataset named "{name}" already exists.')


def _action(value: str | None) -> UploadAction:
    try:
        return UploadAction((value or UploadAction.CREATE).lower())
    except (ValueError, AttributeError):
        # Misspelt as Phoenix spells it: the client matches this text to fall back from update to create.
        raise ValidationError(f"Invalid dateset action: {value}") from None


def _validate_name(name: Any) -> None:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError("Dataset name is required")
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(f"Dataset name is longer than {MAX_NAME_LENGTH} characters")


def _incoming(
    inputs: Any, outputs: Any, metadata: Any, span_ids: Any, example_ids: Any, splits: Any = None
) -> list[Incoming]:
    if not inputs:
        raise ValidationError("input is required")
    if not isinstance(inputs, list) or not all(isinstance(value, dict) for value in inputs):
        raise ValidationError("Input should be a list containing only dictionary objects")
    count = len(inputs)
    outputs = _column("outputs", outputs, count, dict, "dictionary objects") or [{}] * count
    metadata = _column("metadata", metadata, count, dict, "dictionary objects") or [{}] * count
    # An empty id is no id: CSV cells and dataframes send "" for a missing value.
    span_ids = _ids(_column("span_ids", span_ids, count, str, "strings or nulls"), count)
    example_ids = _ids(_column("example_ids", example_ids, count, str, "strings or nulls"), count)
    _validate_example_ids(example_ids)
    split_sets = _upload_splits(splits, count)
    incoming = [
        Incoming(*values)
        for values in zip(inputs, outputs, metadata, span_ids, example_ids, split_sets, strict=True)
    ]
    for index, item in enumerate(incoming):
        if not all(is_storable_json(part) for part in (item.input, item.output, item.metadata)):
            raise ValidationError(
                f"Example {index} contains a NUL character, an unpaired surrogate or a non-finite number, "
                "which cannot be stored"
            )
    return incoming


def _column(name: str, values: Any, count: int, kind: type, described: str) -> list[Any] | None:
    """`values` when it is a list of `count` items of `kind` (or, for ids, None); None when absent."""
    if not values:
        return None
    nullable = kind is str
    if (
        not isinstance(values, list)
        or len(values) != count
        or not all(isinstance(value, kind) or (nullable and value is None) for value in values)
    ):
        raise ValidationError(f"{name} should be a list of same length as input containing only {described}")
    return values


def _validate_example_ids(example_ids: list[str | None]) -> None:
    counts = Counter(value for value in example_ids if value is not None)
    if repeated := sorted(value for value, count in counts.items() if count > 1):
        raise ValidationError(f"example_ids must be unique; repeated: {', '.join(repeated)}")
    if any(len(value) > MAX_EXAMPLE_ID_LENGTH for value in counts):
        raise ValidationError(f"example_ids are at most {MAX_EXAMPLE_ID_LENGTH} characters long")


def _ids(values: list[str | None] | None, count: int) -> list[str | None]:
    return [value or None for value in values] if values else [None] * count


def _upload_splits(splits: Any, count: int) -> list[frozenset[str] | None]:
    """Each example's split names, as Phoenix reads them: a name, a list of names or null (no split);
    names are stripped and blank ones dropped. All None when the upload has no `splits`."""
    if splits is None:
        return [None] * count
    if not isinstance(splits, list):
        raise ValidationError("splits must be a list")
    if len(splits) != count:
        raise ValidationError(f"splits must have same length as inputs ({len(splits)} != {count})")
    return [_split_names(value) for value in splits]


def _split_names(value: Any) -> frozenset[str]:
    if isinstance(value, list):
        for item in value:
            if item is not None and not isinstance(item, str):
                raise ValidationError(f"Split value must be a string or None, got {type(item).__name__}")
        values = value
    elif value is None or isinstance(value, str):
        values = [value]
    else:
        raise ValidationError(
            f"Split value must be a string, list of strings, or None, got {type(value).__name__}"
        )
    names = frozenset(name.strip() for name in values if name and name.strip())
    for name in names:
        _check_split_name_length(name)
    return names


def _split_name(name: Any) -> str:
    """A split name as Phoenix takes it: stripped, and not empty."""
    if not isinstance(name, str) or not name.strip():
        raise ValidationError(SPLIT_NAME_EMPTY)
    _check_split_name_length(name.strip())
    return name.strip()


def _check_split_name_length(name: str) -> None:
    if len(name) > MAX_SPLIT_NAME_LENGTH:
        raise ValidationError(f"Split names are at most {MAX_SPLIT_NAME_LENGTH} characters: {name[:40]}…")


# --- one example, as the dataset page edits it --------------------------------------------------------------

# JSON's names for the types a value decodes to, for errors a person reads.
JSON_TYPE_NAMES = {
    dict: "an object",
    list: "an array",
    str: "a string",
    bool: "a boolean",
    type(None): "null",
}


class StaleExample(ValidationError):
    """The example changed (or went) after the editor read it: their edit would undo somebody else's."""


def dataset_example_patch(
    *,
    example: DatasetExample,
    input: Any,
    output: Any,
    metadata: Any,
    user: User | None,
    description: str = "",
    based_on: int | None = None,
) -> DatasetVersion | None:
    """Replace the example's input, output and metadata (each a JSON object), as Phoenix's
    `patchDatasetExamples` does, in a new version holding one PATCH revision. An unchanged example makes no
    version and answers None (Phoenix makes an empty one).

    The example is edited as it is at the dataset's latest version. `based_on`, the pk of the revision the
    editor read, refuses the edit (StaleExample) when somebody else's has replaced it since.
    """
    content = Incoming(
        input=_example_field("input", input),
        output=_example_field("output", output),
        metadata=_example_field("metadata", metadata),
        span_id=None,
        external_id=None,
    )
    with transaction.atomic():
        current = _example_locked(example, based_on=based_on)
        if revision_hash(current) == content.content_hash:
            return None
        version = dataset_version_create(dataset=example.dataset, user=user, description=description)
        revision_row(example.pk, version, content, RevisionKind.PATCH).save()
    return version


def dataset_example_delete(
    *, example: DatasetExample, user: User | None, description: str = "", based_on: int | None = None
) -> DatasetVersion:
    """Take the example out of the dataset in a new version holding one DELETE revision; earlier versions
    keep it. `based_on` as for `dataset_example_patch`."""
    with transaction.atomic():
        _example_locked(example, based_on=based_on)
        version = dataset_version_create(dataset=example.dataset, user=user, description=description)
        ExampleRevision.objects.create(example=example, version=version, revision_kind=RevisionKind.DELETE)
    return version


def _example_field(name: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        kind = JSON_TYPE_NAMES.get(type(value), "a number")
        raise ValidationError({name: f"{name.capitalize()} must be a JSON object, not {kind}."})
    if not is_storable_json(value):
        raise ValidationError(
            {
                name: f"{name.capitalize()} contains a NUL character, an unpaired surrogate or a non-finite "
                "number (NaN, Infinity), which cannot be stored."
            }
        )
    return value


def _example_locked(example: DatasetExample, *, based_on: int | None) -> ExampleRevision:
    """The example's revision at the dataset's latest version, the dataset locked until the transaction
    ends; refused when the example is no longer in it, or no longer at `based_on`."""
    dataset_lock(example.dataset)
    latest = dataset_latest_version(dataset=example.dataset)
    current = (
        example_revisions_at_version(version=latest).filter(example_id=example.pk).first() if latest else None
    )
    if current is None:
        raise StaleExample("This example has been deleted from the dataset since; nothing was changed.")
    if based_on is not None and current.pk != based_on:
        raise StaleExample(
            "Somebody else changed this example since you opened it; nothing was changed. "
            "Reload to see their change and edit from it."
        )
    return current


# --- splits ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RandomSplit:
    """What `dataset_split_randomly` did: the two splits and how many examples went to each."""

    first: DatasetSplit
    second: DatasetSplit
    first_count: int
    second_count: int


def split_create(
    *,
    dataset: Dataset,
    name: Any,
    description: str | None = None,
    color: str | None = None,
    metadata: dict[str, Any] | None = None,
    example_ids: Iterable[str] = (),
    user: User | None,
) -> DatasetSplit:
    """A new split (its name global: taken by any dataset, a DuplicateSplitName), holding the examples of
    `dataset` that `example_ids` name (GlobalIDs or the uploader's ids)."""
    name = _split_name(name)
    with transaction.atomic():
        example_pks = _dataset_example_pks(dataset=dataset, identifiers=example_ids)
        try:
            with transaction.atomic():
                split = DatasetSplit.objects.create(
                    name=name,
                    description=description or "",
                    color=color or DatasetSplit.DEFAULT_COLOR,
                    metadata=metadata or {},
                    user=user,
                )
        except IntegrityError:
            raise DuplicateSplitName(f"A dataset split named '{name}' already exists") from None
        _memberships_add(split=split, example_pks=example_pks)
    return split


def split_update(
    *,
    split: DatasetSplit,
    dataset: Dataset,
    changes: dict[str, Any],
    add_example_ids: Iterable[str] = (),
    remove_example_ids: Iterable[str] = (),
) -> DatasetSplit:
    """Change the fields `changes` holds (`name`, `description`, `color`, `metadata`; a null description
    clears it, a null colour or metadata keeps it), and add or remove examples of `dataset`."""
    if "name" in changes:
        split.name = _split_name(changes["name"])
    if "description" in changes:
        split.description = changes["description"] or ""
    for key in ("color", "metadata"):
        if changes.get(key) is not None:
            setattr(split, key, changes[key])
    with transaction.atomic():
        adding = _dataset_example_pks(dataset=dataset, identifiers=add_example_ids)
        removing = _dataset_example_pks(dataset=dataset, identifiers=remove_example_ids)
        try:
            with transaction.atomic():
                split.save()
        except IntegrityError:
            raise DuplicateSplitName("A dataset split with this name already exists") from None
        _memberships_add(split=split, example_pks=adding)
        for chunk in chunks(removing):
            DatasetSplitExample.objects.filter(split=split, example_id__in=chunk).delete()
    return split


def split_delete(*, split: DatasetSplit) -> None:
    """Delete the split: every dataset's examples leave it; the examples stay."""
    split.delete()


def splits_assign(*, example_pks: Iterable[int], split_name: str, user: User | None) -> DatasetSplit:
    """Put these examples in the split named `split_name`, made when new; what they were in, they stay in
    (an example may be in several splits, as in Phoenix)."""
    name = _split_name(split_name)
    with transaction.atomic():
        split = _splits_named({name}, user=user, color=DatasetSplit.DEFAULT_COLOR)[name]
        _memberships_add(split=split, example_pks=example_pks)
    return split


def dataset_split_randomly(
    *,
    version: DatasetVersion,
    ratio: float,
    seed: int,
    names: tuple[str, str] = ("train", "test"),
    user: User | None,
) -> RandomSplit:
    """Put `ratio` of the version's examples, drawn at random, in the first split, the others in the second,
    and each out of the other of the two.

    The draw depends only on the seed and on the examples' order (by when they came into the dataset), never
    on database ids or engine: the same version, ratio and seed give the same assignment on SQLite and
    PostgreSQL, so a training set can be rebuilt.
    """
    if not 0 < ratio < 1:
        raise ValidationError("ratio must be between 0 and 1 (exclusive)")
    first_name, second_name = (_split_name(name) for name in names)
    if first_name == second_name:
        raise ValidationError("The two splits need different names")
    with transaction.atomic():
        dataset_lock(version.dataset)
        pks = list(example_revisions_at_version(version=version).values_list("example_id", flat=True))
        if not pks:
            raise ValidationError("This version has no examples to split")
        random.Random(seed).shuffle(pks)
        cut = round(len(pks) * ratio)
        splits = _splits_named({first_name, second_name}, user=user, color=DatasetSplit.DEFAULT_COLOR)
        first, second = splits[first_name], splits[second_name]
        for chunk in chunks(pks):
            DatasetSplitExample.objects.filter(split__in=[first, second], example_id__in=chunk).delete()
        _memberships_add(split=first, example_pks=pks[:cut])
        _memberships_add(split=second, example_pks=pks[cut:])
    return RandomSplit(first, second, cut, len(pks) - cut)


def _dataset_example_pks(*, dataset: Dataset, identifiers: Iterable[str]) -> list[int]:
    """The pks of the dataset's examples that `identifiers` name, by DatasetExample GlobalID or external id;
    UnknownExamples lists those that name none."""
    wanted = list(dict.fromkeys(identifiers))
    by_node = {value: pk for value in wanted if (pk := _example_node_pk(value)) is not None}
    examples = DatasetExample.objects.filter(dataset=dataset)
    known_nodes = set(examples.filter(pk__in=by_node.values()).values_list("pk", flat=True))
    external_ids = [value for value in wanted if value not in by_node]
    by_external = dict(examples.filter(external_id__in=external_ids).values_list("external_id", "pk"))
    pks: list[int] = []
    unknown: list[str] = []
    for value in wanted:
        pk = by_node[value] if value in by_node and by_node[value] in known_nodes else by_external.get(value)
        if pk is None:
            unknown.append(value)
        else:
            pks.append(pk)
    if unknown:
        raise UnknownExamples(f"Dataset examples not found in this dataset: {', '.join(unknown)}")
    return pks


def _splits_named(names: set[str], *, user: User | None, color: str) -> dict[str, DatasetSplit]:
    """The splits of these names, the missing ones made; concurrent makers of one name share it."""
    if not names:
        return {}
    DatasetSplit.objects.bulk_create(
        [DatasetSplit(name=name, color=color, user=user) for name in sorted(names)], ignore_conflicts=True
    )
    return {split.name: split for split in DatasetSplit.objects.filter(name__in=names)}


def _memberships_add(*, split: DatasetSplit, example_pks: Iterable[int]) -> None:
    for chunk in chunks(example_pks):
        DatasetSplitExample.objects.bulk_create(
            [DatasetSplitExample(split=split, example_id=pk) for pk in chunk], ignore_conflicts=True
        )


def _memberships_set(targets: dict[int, frozenset[str]], *, user: User | None) -> set[int]:
    """Make each example's splits exactly the named ones; the examples whose splits changed."""
    splits = _splits_named(set().union(*targets.values()), user=user, color=DatasetSplit.UPLOAD_COLOR)
    wanted = {pk: {splits[name].pk for name in names} for pk, names in targets.items()}
    current: dict[int, set[int]] = defaultdict(set)
    for chunk in chunks(wanted):
        rows = DatasetSplitExample.objects.filter(example_id__in=chunk).values_list("example_id", "split_id")
        for example_pk, split_pk in rows:
            current[example_pk].add(split_pk)
    changed = [pk for pk in wanted if current[pk] != wanted[pk]]
    for chunk in chunks(changed):
        DatasetSplitExample.objects.filter(example_id__in=chunk).delete()
    # Their old memberships are gone, so nothing can conflict: COPY on PostgreSQL.
    bulk_insert(
        DatasetSplitExample,
        [{"split_id": split_pk, "example_id": pk} for pk in changed for split_pk in wanted[pk]],
    )
    return set(changed)
