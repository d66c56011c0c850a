"""GlobalIDs: the codec, and the pattern the OpenAPI document gives for each type."""

import base64
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from phoenix_annot.core.globalid import (
    MAX_ROW_ID,
    GlobalIDError,
    from_global_id,
    global_id_pattern,
    to_global_id,
)

TYPES = [
    "Project",
    "Span",
    "Dataset",
    "DatasetVersion",
    "CategoricalAnnotationConfig",
    "FreeformAnnotationConfig",
]
# Up to 16 digits: the patterns stop short of MAX_ROW_ID's 19 digits, at 16 to 18 depending on the type.
ROW_IDS = [0, 1, 9, 10, 99, 100, 999, 1000, 12345, 123456, 1234567, 2**31, 10**16 - 1]


def encoded(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize("type_name", TYPES)
def test_the_pattern_of_a_type_matches_every_id_of_that_type_and_nothing_else(type_name):
    pattern = re.compile(global_id_pattern(type_name))
    others = [other for other in TYPES if other != type_name]

    assert all(pattern.match(to_global_id(type_name, pk)) for pk in ROW_IDS)
    assert not any(pattern.match(to_global_id(other, pk)) for other in others for pk in ROW_IDS)
    for raw in ["", "-1", "1a", "²", " 1", "1 ", "1.0"]:
        assert not pattern.match(encoded(f"{type_name}:{raw}")), raw
    padded = [gid for gid in (to_global_id(type_name, pk) for pk in ROW_IDS) if gid.endswith("=")]
    assert padded
    assert not any(pattern.match(gid.rstrip("=")) for gid in padded)


@given(st.from_regex(global_id_pattern(*TYPES), fullmatch=True))
@settings(max_examples=300, derandomize=True, database=None)
def test_every_id_a_pattern_matches_decodes_to_one_of_its_types(value):
    assert from_global_id(value)[0] in TYPES


def test_a_pattern_of_several_types_matches_each_of_them():
    pattern = re.compile(global_id_pattern(*TYPES))

    assert all(pattern.match(to_global_id(type_name, pk)) for type_name in TYPES for pk in ROW_IDS)


@pytest.mark.parametrize("raw", ["²", str(MAX_ROW_ID + 1), "9" * 5000, "", "-1"])
def test_ids_that_are_not_a_row_id_are_refused_as_not_a_global_id(raw):
    with pytest.raises(GlobalIDError):
        from_global_id(encoded(f"Dataset:{raw}"))


def test_the_largest_row_id_round_trips():
    assert from_global_id(to_global_id("Dataset", MAX_ROW_ID), "Dataset") == ("Dataset", MAX_ROW_ID)
