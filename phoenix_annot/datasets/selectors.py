"""Reads of datasets, shared by the REST API, the exports and the pages.

"Examples at version V" are, per example, its latest revision with version <= V, unless that revision is a
DELETE (DESIGN.md §3). Revisions are history: a version's examples never change once it exists, so reading
them twice (the two passes of an export) gives the same rows.
"""

from collections import defaultdict
from collections.abc import Iterable

from django.db.models import (
    Case,
    Count,
    Exists,
    F,
    IntegerField,
    OuterRef,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    Window,
)
from django.db.models.functions import Coalesce, RowNumber

from .models import (
    Dataset,
    DatasetExample,
    DatasetSplit,
    DatasetSplitExample,
    DatasetVersion,
    ExampleRevision,
    RevisionKind,
)


def datasets_with_example_count() -> QuerySet[Dataset]:
    """Datasets annotated with `example_count`, the number of examples at their latest version."""
    # +1 per CREATE, -1 per DELETE, as Phoenix counts: a DELETE only ever follows a live revision and a
    # CREATE only ever starts or revives an example, so the sum is the live count without a per-example scan.
    change = Case(
        When(revision_kind=RevisionKind.CREATE, then=Value(1)),
        When(revision_kind=RevisionKind.DELETE, then=Value(-1)),
        default=Value(0),
        output_field=IntegerField(),
    )
    count = (
        ExampleRevision.objects.filter(example__dataset=OuterRef("pk"))
        .values("example__dataset")
        .annotate(total=Sum(change))
        .values("total")
    )
    return Dataset.objects.annotate(example_count=Coalesce(Subquery(count), Value(0)))


def dataset_versions(*, dataset: Dataset) -> QuerySet[DatasetVersion]:
    return DatasetVersion.objects.filter(dataset=dataset)


def dataset_versions_numbered(*, dataset: Dataset) -> QuerySet[DatasetVersion]:
    """The dataset's versions, each with `number`: 1 for its first version, 2 for the next (v1, v2…)."""
    return dataset_versions(dataset=dataset).annotate(number=Window(RowNumber(), order_by=F("pk").asc()))


def with_example_numbers(revisions: QuerySet[ExampleRevision]) -> QuerySet[ExampleRevision]:
    """Revisions with `example_number`: where their example came into its dataset, 1 for the first.

    A number stays with its example in every version, unlike a row's position in one version's list.
    """
    earlier = (
        DatasetExample.objects.filter(
            dataset_id=OuterRef("example__dataset_id"), pk__lte=OuterRef("example_id")
        )
        .values("dataset_id")
        .annotate(total=Count("pk"))
        .values("total")
    )
    return revisions.annotate(example_number=Subquery(earlier))


def dataset_latest_version(*, dataset: Dataset) -> DatasetVersion | None:
    return dataset_versions(dataset=dataset).order_by("-pk").first()


def example_revisions_at_version(*, version: DatasetVersion) -> QuerySet[ExampleRevision]:
    """The live revision of each example at `version`, by example id, in one query.

    Each row also carries `external_id`, `span_pk`, `span_hex` (the OTel span id) and `session_pk`, so
    listing and exporting never load the examples, their spans or their sessions.
    """
    newer = ExampleRevision.objects.filter(
        example=OuterRef("example"), version_id__gt=OuterRef("version_id"), version_id__lte=version.pk
    )
    return (
        ExampleRevision.objects.filter(example__dataset_id=version.dataset_id, version_id__lte=version.pk)
        .filter(~Exists(newer))
        .exclude(revision_kind=RevisionKind.DELETE)
        .annotate(
            external_id=F("example__external_id"),
            span_pk=F("example__span_id"),
            span_hex=F("example__span__span_id"),
            session_pk=F("example__session_id"),
        )
        .order_by("example_id")
    )


def in_splits(revisions: QuerySet[ExampleRevision], split_pks: Iterable[int]) -> QuerySet[ExampleRevision]:
    """Only the revisions whose example is in one of the splits (once, however many it is in)."""
    membership = DatasetSplitExample.objects.filter(example_id=OuterRef("example_id"), split_id__in=split_pks)
    return revisions.filter(Exists(membership))


def splits_at_version(*, version: DatasetVersion) -> QuerySet[DatasetSplit]:
    """The splits holding examples of `version`, each with `example_count`, how many of them it holds.

    Membership is not versioned, so this is which of the version's examples are in each split now.
    """
    live = example_revisions_at_version(version=version).values("example_id")
    return DatasetSplit.objects.filter(memberships__example_id__in=live).annotate(
        example_count=Count("memberships")
    )


def split_names_by_example(example_pks: Iterable[int]) -> dict[int, list[str]]:
    """Each example's split names, sorted; examples in no split are left out."""
    names: dict[int, list[str]] = defaultdict(list)
    rows = DatasetSplitExample.objects.filter(example_id__in=list(example_pks)).values_list(
        "example_id", "split__name"
    )
    for example_pk, name in rows.order_by("split__name"):
        names[example_pk].append(name)
    return names
