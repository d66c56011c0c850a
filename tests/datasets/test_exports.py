import csv
import json

import pytest

from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.datasets.exports import (
    csv_lines,
    jsonl_lines,
    openai_evals_lines,
    openai_evals_report,
    openai_ft_lines,
    openai_ft_report,
)
from phoenix_annot.datasets.models import ExampleRevision
from phoenix_annot.datasets.selectors import example_revisions_at_version
from tests.factories import (
    DatasetExampleFactory,
    DatasetSplitExampleFactory,
    DatasetVersionFactory,
    ExampleRevisionFactory,
)

pytestmark = pytest.mark.django_db

CHAT_INPUT = {"messages": [{"role": "user", "content": "Olá?"}], "tools": [{"type": "function"}]}
CHAT_OUTPUT = {"messages": [{"role": "assistant", "content": "Olá!"}]}


@pytest.fixture
def version():
    return DatasetVersionFactory()


def add(version, *, external_id=None, **content) -> ExampleRevision:
    example = DatasetExampleFactory(dataset=version.dataset, external_id=external_id)
    return ExampleRevisionFactory(example=example, version=version, **content)


def text(lines) -> str:
    return "".join(lines)


def node(revision: ExampleRevision) -> str:
    return to_global_id("DatasetExample", revision.example_id)


def test_csv_flattens_nested_keys_encodes_lists_and_takes_the_union_of_columns(version):
    first = add(
        version,
        external_id="ex-1",
        input={"question": 'Why, "really"?', "context": {"doc": "d1", "rank": 1}},
        output={"answer": "Because"},
        metadata={"tags": ["a", "b"]},
    )
    second = add(
        version, input={"question": "Olá\nmundo"}, output={}, metadata={"reviewed": True, "score": 0.5}
    )

    csv = text(csv_lines(example_revisions_at_version(version=version)))

    assert csv == (
        "id,node_id,input.context.doc,input.context.rank,input.question,output.answer,"
        "metadata.reviewed,metadata.score,metadata.tags\n"
        f'ex-1,{node(first)},d1,1,"Why, ""really""?",Because,,,"[""a"", ""b""]"\n'
        f'{node(second)},{node(second)},,,"Olá\nmundo",,True,0.5,\n'
    )


def test_csv_of_an_empty_version_is_just_the_header(version):
    assert text(csv_lines(example_revisions_at_version(version=version))) == "id,node_id\n"


def test_jsonl_writes_one_unescaped_object_per_example(version):
    revision = add(version, external_id="ex-1", input={"q": "Olá"}, output={"a": 1}, metadata={})

    lines = text(jsonl_lines(example_revisions_at_version(version=version)))

    assert lines == (
        f'{{"id": "ex-1", "node_id": "{node(revision)}", "input": {{"q": "Olá"}}, "output": {{"a": 1}}, '
        '"metadata": {}, "splits": []}\n'
    )


def test_openai_fine_tuning_joins_input_and_output_messages_and_keeps_tools(version):
    add(version, input=CHAT_INPUT, output=CHAT_OUTPUT)

    lines = text(openai_ft_lines(example_revisions_at_version(version=version)))

    assert lines == (
        '{"messages": [{"role": "user", "content": "Olá?"}, {"role": "assistant", "content": "Olá!"}], '
        '"tools": [{"type": "function"}]}\n'
    )


def test_openai_fine_tuning_leaves_out_examples_that_are_not_chats_and_reports_them(version):
    add(version, input=CHAT_INPUT, output=CHAT_OUTPUT)
    add(version, input={"input": "plain text"}, output={"output": "no messages"})
    add(version, input={"messages": [{"role": "user", "content": "no answer"}]}, output={})
    add(version, input={"messages": "not a list"}, output=CHAT_OUTPUT)
    add(version, input={"messages": [{"content": "no role"}]}, output=CHAT_OUTPUT)
    revisions = example_revisions_at_version(version=version)

    rows = [json.loads(line) for line in openai_ft_lines(revisions)]

    assert openai_ft_report(revisions) == (2, 3)
    assert [len(row["messages"]) for row in rows] == [2, 1]
    assert "tools" not in rows[1]


def test_openai_evals_take_the_input_messages_and_the_last_output_message_and_skip_the_rest(version):
    add(
        version,
        input=CHAT_INPUT,
        output={"messages": [{"role": "assistant", "content": "a"}, {"content": "b"}]},
    )
    add(version, input={"input": "x"}, output={"messages": [{"role": "assistant", "content": ["parts"]}]})

    add(version, input=CHAT_INPUT, output={"output": "no messages"})
    add(version, input={"messages": ["not a message"]}, output=CHAT_OUTPUT)
    revisions = example_revisions_at_version(version=version)

    rows = [json.loads(line) for line in openai_evals_lines(revisions)]

    assert rows == [{"messages": [{"role": "user", "content": "Olá?"}], "ideal": "b"}]
    assert openai_evals_report(revisions) == (1, 3)


def test_exports_read_the_rows_in_chunks_without_a_query_per_row(version, django_assert_max_num_queries):
    for n in range(30):
        add(version, input={"n": n}, output=CHAT_OUTPUT)
    revisions = example_revisions_at_version(version=version)

    # Two passes, each reading the rows and then their splits a chunk at a time.
    with django_assert_max_num_queries(4):
        assert len(list(csv_lines(revisions))) == 31


def test_the_jsonl_and_csv_exports_carry_each_examples_splits_as_phoenix_writes_them(version):
    first = add(version, input={"q": "a"})
    add(version, input={"q": "b"})
    DatasetSplitExampleFactory(example_id=first.example_id, split__name="train")
    DatasetSplitExampleFactory(example_id=first.example_id, split__name="test")
    revisions = example_revisions_at_version(version=version)

    jsonl = [json.loads(line)["splits"] for line in jsonl_lines(revisions)]
    csv_rows = list(csv.reader("".join(csv_lines(revisions)).splitlines()))

    assert jsonl == [["test", "train"], []]
    assert [row[-1] for row in csv_rows] == ["splits", '["test", "train"]', "[]"]


def test_the_csv_export_has_no_splits_column_when_no_example_is_in_a_split(version):
    add(version, input={"q": "a"})

    header = next(csv_lines(example_revisions_at_version(version=version)))

    assert header == "id,node_id,input.q,output.output\n"
