from datetime import UTC, datetime

from rest_framework.renderers import JSONRenderer
from rest_framework.utils.encoders import JSONEncoder

from phoenix_annot.api.renderers import FastJSONRenderer
from phoenix_annot.core import fastjson


def test_integers_beyond_64_bits_fall_back_to_the_standard_library_with_the_same_compact_output():
    assert fastjson.dumps({"n": 2**70, "s": "é"}) == '{"n":1180591620717411303424,"s":"é"}'.encode()


def test_datetimes_are_encoded_by_the_default_given():
    moment = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)

    assert fastjson.dumps([moment], default=JSONEncoder().default) == b'["2026-01-02T03:04:05.678901Z"]'


def test_the_api_renderer_gives_drfs_compact_json():
    data = {"data": [{"id": 1, "at": datetime(2026, 1, 2, tzinfo=UTC), "name": "ünï"}], "next_cursor": None}

    assert (
        FastJSONRenderer().render(data)
        == '{"data":[{"id":1,"at":"2026-01-02T00:00:00Z","name":"ünï"}],"next_cursor":null}'.encode()
    )
    assert FastJSONRenderer().render(data) == JSONRenderer().render(data)
    assert FastJSONRenderer().render(None) == b""


def test_loads_reads_integers_beyond_64_bits_exactly():
    assert fastjson.loads('{"n": 1180591620717411303424, "m": [12345678901234567890]}') == {
        "n": 2**70,
        "m": [12345678901234567890],
    }


def test_loads_reads_what_orjson_refuses_as_the_standard_library_does():
    assert fastjson.loads('{"x": 1e400, "s": "é"}') == {"x": float("inf"), "s": "é"}
