"""The row sets agreement is read over besides a tab's filter: a queue's items, a dataset version's examples.

Either narrows the rows the tab's filter keeps (the whole project's rows without a filter), so a queue's
agreement is on the rows its reviewers were asked about, and a dataset version's on the examples it holds.
"""

import enum
from dataclasses import dataclass

from django.db.models import Max, QuerySet

from phoenix_annot.datasets.models import Dataset, DatasetVersion
from phoenix_annot.datasets.selectors import example_revisions_at_version
from phoenix_annot.queues.models import AnnotationQueue, QueueItem
from phoenix_annot.tracing.models import Project

from .ratings import Target

# What a dataset version's examples give for each kind of row: their spans, those spans' traces, their
# sessions (session examples; a span example's session is not one of them).
_EXAMPLE_ROWS = {
    Target.SPAN: "example__span",
    Target.TRACE: "example__span__trace",
    Target.SESSION: "example__session",
}


DATASETS_OFFERED = 100


class WithinKind(enum.StrEnum):
    QUEUE = "queue"
    VERSION = "version"


@dataclass(frozen=True)
class Within:
    kind: WithinKind
    pk: int
    label: str
    # A version's dataset, which reading the version's examples needs.
    dataset_pk: int | None = None

    @property
    def value(self) -> str:
        """As the page's `within` parameter names it."""
        return f"{self.kind}:{self.pk}"

    def narrowed(self, rows: QuerySet, target: Target) -> QuerySet:
        """The rows among `rows` that are this queue's items or this version's examples, as a subquery."""
        if self.kind == WithinKind.QUEUE:
            pks = QueueItem.objects.filter(queue_id=self.pk).values(target.value)
        else:
            version = DatasetVersion(pk=self.pk, dataset_id=self.dataset_pk)
            pks = example_revisions_at_version(version=version).values(_EXAMPLE_ROWS[target])
        return rows.filter(pk__in=pks)


class WithinError(ValueError):
    """A queue or dataset version that is not there (for this project's queues): its message names it."""


def within_queue(*, project: Project, pk: int) -> Within:
    queue = AnnotationQueue.objects.filter(project=project, pk=pk).values_list("name", flat=True).first()
    if queue is None:
        raise WithinError(f"No queue {pk} in this project.")
    return Within(WithinKind.QUEUE, pk, f"queue {queue}")


def within_version(*, pk: int) -> Within:
    found = DatasetVersion.objects.filter(pk=pk).values_list("dataset_id", "dataset__name").first()
    if found is None:
        raise WithinError(f"No dataset version {pk}.")
    dataset_pk, name = found
    return Within(WithinKind.VERSION, pk, f"dataset {name}, version {pk}", dataset_pk)


def within_parsed(*, project: Project, value: str) -> Within | None:
    """The page's `within` parameter (`queue:<pk>` or `version:<pk>`; empty: none)."""
    if not value:
        return None
    kind, _, pk = value.partition(":")
    if kind not in WithinKind.__members__.values() or not pk.isdigit():
        raise WithinError(f"'{value}' is neither queue:<id> nor version:<id>.")
    if kind == WithinKind.QUEUE:
        return within_queue(project=project, pk=int(pk))
    return within_version(pk=int(pk))


def within_choices(*, project: Project) -> list[tuple[str, str]]:
    """What the page offers: the project's queues, then the latest version of the datasets changed last
    (at most `DATASETS_OFFERED`, so the page stays small; others by address), by name; two queries."""
    queues = AnnotationQueue.objects.filter(project=project).order_by("name").values_list("pk", "name")
    latest = (
        Dataset.objects.annotate(latest=Max("versions__pk"))
        .filter(latest__isnull=False)
        .order_by("-latest")
        .values_list("latest", "name")[:DATASETS_OFFERED]
    )
    return [(f"{WithinKind.QUEUE}:{pk}", f"Queue: {name}") for pk, name in queues] + [
        (f"{WithinKind.VERSION}:{pk}", f"Dataset: {name} (latest version)")
        for pk, name in sorted(latest, key=lambda dataset: dataset[1])
    ]
