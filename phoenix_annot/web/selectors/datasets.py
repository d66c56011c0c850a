"""The dataset page's example edits: the example as the latest version holds it."""

from dataclasses import dataclass

from django.http import Http404

from phoenix_annot.datasets.models import Dataset, DatasetVersion, ExampleRevision
from phoenix_annot.datasets.selectors import (
    dataset_versions_numbered,
    example_revisions_at_version,
    with_example_numbers,
)


@dataclass(frozen=True)
class ExampleAtLatest:
    """An example's revision at the dataset's latest version (with `example_number`), and that version
    (with `number`)."""

    revision: ExampleRevision
    latest: DatasetVersion


def example_at_latest(*, dataset: Dataset, example_pk: int) -> ExampleAtLatest:
    """Examples are edited and deleted at the latest version only; 404 when the example is not in it."""
    latest = dataset_versions_numbered(dataset=dataset).order_by("-pk").first()
    revision = None
    if latest is not None:
        revisions = example_revisions_at_version(version=latest).filter(example_id=example_pk)
        revision = with_example_numbers(revisions).select_related("example").first()
    if latest is None or revision is None:
        raise Http404("This example is not in the dataset's latest version: it was deleted, or never in it.")
    revision.example.dataset = dataset
    return ExampleAtLatest(revision, latest)
