"""Hostile or malformed filters are refused with a message, and messy stored data never fails a query."""

import pytest

from phoenix_annot.filtering.expression import (
    MAX_ANNOTATION_TERMS,
    MAX_COMPARISONS,
    MAX_EXPRESSION_CHARS,
    MAX_STRING_CHARS,
    FilterExpressionError,
    span_condition_q,
)
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.tracing.models import Span
from tests.factories import SpanFactory

HOSTILE = [
    "__import__('os').system('touch /tmp/pwned') == 0",
    "__builtins__ == 1",
    "name.__class__ == 'str'",
    "name.__class__.__mro__[1].__subclasses__() == []",
    "annotations['q'].__class__ == 1",
    "().__class__ == 1",
    "(lambda: 1)() == 1",
    "[c for c in name] == []",
    "{c for c in name} == 1",
    "(c for c in name) == 1",
    "f'{name}' == 'x'",
    "open('/etc/passwd') == 1",
    "eval('1') == 1",
    "len(name) > 1",
    "getattr(name, 'upper') == 1",
    "name.startswith('a')",
    "name.upper() == 'A'",
    "str(name, 'utf-8') == 'a'",
    "float(x=latency_ms) > 1",
    "latency_ms ** 2 > 1",
    "latency_ms // 2 > 1",
    "latency_ms & 1 == 1",
    "latency_ms | 1 == 1",
    "latency_ms ^ 1 == 1",
    "latency_ms << 1 == 1",
    "latency_ms @ 1 == 1",
    "~latency_ms == 1",
    "(*name,) == 1",
    "(x := 1) == 1",
    "1 if name else 2 == 1",
    "{'a': 1} == name",
    "name[0] == 'a'",
    "attributes['a'][1:2] == 'a'",
    "attributes[name] == 1",
    "metadata[True] == 1",
    "attributes['a'][-1] == 1",
    "attributes['a'][2147483648] == 1",
    "attributes['a\"b'] == 1",
    "attributes['a\\\\b'] == 1",
    "annotations[name].label == 'x'",
    "name == b'x'",
    "name == 1j",
    "name == ...",
    "latency_ms > 1e999",
    "latency_ms > -1e999",
    "latency_ms > float('nan')",
    "latency_ms > float('inf')",
    f"latency_ms > {'9' * 400}",
    f"latency_ms > {2**53 + 1}",
    f"name == '{'a' * (MAX_STRING_CHARS + 1)}'",
    f"annotations['{'q' * (MAX_STRING_CHARS + 1)}'].score > 1",
    "name == '\\x00'",
    "name == 'a\x00'",
    "'\\ud800' in name",
    "\uff4e\uff41\uff4d\uff45 == 'x'",  # full-width letters that Python reads as `name`
    "name.\uff4c\uff45\uff4e == 'x'",
    "name == 'a'; import os",
    "import os",
    "name = 'a'",
    "SELECT * FROM tracing_span",
    "name == 'a' or",
    "x" * (MAX_EXPRESSION_CHARS + 1),
    "(" * 300 + "latency_ms > 1" + ")" * 300,
    "not " * 60 + "latency_ms > 1",
    "-" * 60 + "latency_ms > 1",
    "latency_ms > " + "(" * 60 + "1" + ")" * 60 + " + 1" * 60,
    " or ".join(["latency_ms > 1"] * (MAX_COMPARISONS + 1)),
    " or ".join(["annotations['q']"] * (MAX_COMPARISONS + 1)),
    "latency_ms" + " + 1 * latency_ms" * 21 + " > 1",
    "not " * 2400 + "latency_ms > 1",
    "-" * 9000 + "1 == latency_ms",
]


@pytest.mark.parametrize("condition", HOSTILE, ids=range(len(HOSTILE)))
def test_a_hostile_filter_is_refused_with_a_message(condition):
    with pytest.raises(FilterExpressionError) as exc_info:
        span_condition_q(condition)

    assert str(exc_info.value).strip()


@pytest.mark.django_db
@pytest.mark.parametrize("condition", HOSTILE[::7], ids=range(len(HOSTILE[::7])))
def test_a_hostile_filter_in_the_filter_bar_is_a_form_error(condition):
    filterset = SpanFilter({"condition": condition}, queryset=Span.objects.all())

    assert not filterset.is_valid()
    assert filterset.errors["condition"]


MESSY_CONDITIONS = [
    "attributes['big'] * attributes['big'] > 1",
    "attributes['big'] * attributes['big'] * attributes['big'] * attributes['big'] > attributes['big']",
    "attributes['big'] / attributes['tiny'] / attributes['tiny'] > 1",
    "attributes['big'] * attributes['big'] % 7 >= 0",
    "attributes['big'] % attributes['zero'] == 0",
    "attributes['tiny'] * attributes['tiny'] * attributes['tiny'] < 1",
    "float(attributes['huge_text']) > 1",
    "float(attributes['word']) > 1",
    "int(attributes['list']) > 1",
    "attributes['list'] == 1",
    "attributes['list'] == 'a'",
    "attributes['object'] == True",
    "'a' in attributes['list']",
    "'a' in attributes['object']",
    "str(attributes['object']) == '{}'",
    "attributes['list'][5] == 1",
    "attributes['list'][2147483647] == 1",
    "attributes['word']['deeper'] == 1",
    "attributes['word'] > 1",
    "attributes['big'] > 'a'",
    "attributes['nothing'] + 1 > 0",
    "attributes['list'] * 2 > 0",
    "latency_ms * 1e308 * 1e308 > 1",
    "latency_ms / 1e-300 / 1e-300 > 1",
    "-attributes['big'] - attributes['big'] < 0",
]


@pytest.mark.django_db
@pytest.mark.parametrize("condition", MESSY_CONDITIONS)
def test_messy_attribute_values_never_fail_the_query(condition):
    SpanFactory(
        attributes={
            "big": 1e300,
            "tiny": 1e-300,
            "zero": 0,
            "huge_text": "1e999",
            "word": "many",
            "list": [1, "a"],
            "object": {"a": 1},
            "nothing": None,
        }
    )

    Span.objects.filter(span_condition_q(condition)).count()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("condition", "matches"),
    [
        ("attributes['big'] * attributes['big'] > 1e300", True),
        ("attributes['big'] > 1e299", True),
        ("float(attributes['huge_text']) > 1", False),
        ("float(attributes['numeric_text']) == 1500", True),
        ("float(attributes['word']) > 1", False),
        ("attributes['object'] is not None", True),
        ("attributes['nothing'] is None", True),
        ("attributes['list'][1] == 'a'", True),
        ("attributes['list'][0] == 1", True),
    ],
)
def test_out_of_range_and_mistyped_values_read_as_missing(condition, matches):
    SpanFactory(
        attributes={
            "big": 1e300,
            "huge_text": "1e999",
            "numeric_text": " 1.5e3 ",
            "word": "many",
            "list": [1, "a"],
            "object": {"a": 1},
            "nothing": None,
        }
    )

    assert Span.objects.filter(span_condition_q(condition)).exists() is matches


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("condition", "matches"),
    [
        ("metadata['huge'] > 1", False),
        ("metadata['huge'] < 1", False),
        ("metadata['negative'] < 1", False),
        ("metadata['huge'] is not None", True),
        ("metadata['huge'] + 1 > 1", False),
        ("float(metadata['minute_text']) < 1", True),
        ("metadata['big'] > 1e299", True),
    ],
)
def test_numbers_beyond_a_double_stored_as_json_read_as_missing_or_zero(condition, matches):
    """PostgreSQL keeps any JSON number exactly and refuses to cast one a double cannot hold (or hold apart
    from zero); such a number is missing, or 0 when it is that close to it, and the query never fails."""
    SpanFactory(
        attributes={
            "metadata": {
                "huge": 10**400,
                "negative": -(10**400),
                "minute_text": "0." + "0" * 400 + "1",
                "big": 1e300,
            }
        }
    )

    assert Span.objects.filter(span_condition_q(condition)).exists() is matches


def test_a_filter_naming_annotations_too_many_times_is_refused_with_the_limit():
    names_annotations = " or ".join(
        f"annotations['q{index}'].label == 'a'" for index in range(MAX_ANNOTATION_TERMS + 1)
    )

    with pytest.raises(FilterExpressionError, match=f"too many times \\(at most {MAX_ANNOTATION_TERMS}\\)"):
        span_condition_q(names_annotations)


@pytest.mark.django_db
def test_a_filter_naming_annotations_as_often_as_allowed_runs():
    allowed = " or ".join(f"annotations['q{index}'].label == 'a'" for index in range(MAX_ANNOTATION_TERMS))

    assert not Span.objects.filter(span_condition_q(allowed)).exists()
