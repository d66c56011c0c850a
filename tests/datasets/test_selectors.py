import pytest

from phoenix_annot.datasets.selectors import (
    dataset_latest_version,
    datasets_with_example_count,
    example_revisions_at_version,
)
from tests.factories import (
    DatasetExampleFactory,
    DatasetFactory,
    DatasetVersionFactory,
    ExampleRevisionFactory,
    SpanFactory,
)

pytestmark = pytest.mark.django_db


@pytest.fixture
def history():
    """v1 creates a, b, c; v2 patches a and deletes b; v3 creates d; a later dataset shares nothing."""
    dataset = DatasetFactory()
    v1, v2, v3 = (DatasetVersionFactory(dataset=dataset) for _ in range(3))
    a, b, c, d = (DatasetExampleFactory(dataset=dataset) for _ in range(4))
    for example in (a, b, c):
        ExampleRevisionFactory(example=example, version=v1, input={"v": 1})
    ExampleRevisionFactory(example=a, version=v2, input={"v": 2}, revision_kind="PATCH")
    ExampleRevisionFactory(example=b, version=v2, input={}, revision_kind="DELETE")
    ExampleRevisionFactory(example=d, version=v3, input={"v": 3})
    other = ExampleRevisionFactory(input={"other": True})
    return dataset, (v1, v2, v3), (a, b, c, d), other


def at(version) -> list[tuple[int, dict, str]]:
    return [(r.example_id, r.input, r.revision_kind) for r in example_revisions_at_version(version=version)]


def test_each_version_shows_each_examples_latest_revision_up_to_it(history):
    _dataset, (v1, v2, v3), (a, b, c, d), _other = history

    assert at(v1) == [(a.pk, {"v": 1}, "CREATE"), (b.pk, {"v": 1}, "CREATE"), (c.pk, {"v": 1}, "CREATE")]
    assert at(v2) == [(a.pk, {"v": 2}, "PATCH"), (c.pk, {"v": 1}, "CREATE")]
    assert at(v3) == [(a.pk, {"v": 2}, "PATCH"), (c.pk, {"v": 1}, "CREATE"), (d.pk, {"v": 3}, "CREATE")]


def test_a_deleted_example_revived_by_a_later_create_is_back(history):
    dataset, _versions, (_a, b, _c, _d), _other = history
    v4 = DatasetVersionFactory(dataset=dataset)
    ExampleRevisionFactory(example=b, version=v4, input={"v": 4})

    assert (b.pk, {"v": 4}, "CREATE") in at(v4)


def test_revisions_carry_the_external_id_and_the_span_of_their_example():
    span = SpanFactory()
    revision = ExampleRevisionFactory(example__external_id="case-1", example__span=span)

    row = example_revisions_at_version(version=revision.version).get()

    assert (row.external_id, row.span_pk, row.span_hex) == ("case-1", span.pk, span.span_id)


def test_the_latest_version_is_the_newest(history):
    dataset, (_v1, _v2, v3), _examples, _other = history

    assert dataset_latest_version(dataset=dataset) == v3
    assert dataset_latest_version(dataset=DatasetFactory()) is None


def test_example_count_counts_the_examples_live_at_the_latest_version(history):
    dataset, _versions, _examples, other = history
    empty = DatasetFactory()

    counts = dict(datasets_with_example_count().values_list("pk", "example_count"))

    assert counts == {dataset.pk: 3, other.example.dataset_id: 1, empty.pk: 0}


def test_examples_at_a_version_take_one_query_however_many_there_are(history, django_assert_num_queries):
    dataset, _versions, _examples, _other = history
    version = DatasetVersionFactory(dataset=dataset)
    for _ in range(20):
        ExampleRevisionFactory(
            example=DatasetExampleFactory(dataset=dataset, span=SpanFactory()), version=version
        )

    with django_assert_num_queries(1):
        rows = list(example_revisions_at_version(version=version))

    assert len(rows) == 23
    assert all(row.span_hex for row in rows[3:])
