from datetime import UTC, datetime, timedelta, timezone

from django.template import Context, Template

from phoenix_annot.web.templatetags.display import clip, count, score, when


def test_a_moment_is_written_with_its_year_in_utc_whatever_zone_it_came_in():
    paris = timezone(timedelta(hours=1))
    assert when(datetime(2026, 12, 6, 15, 3, 27, 123456, tzinfo=paris)) == "2026-12-06 14:03:27 UTC"


def test_a_naive_moment_is_taken_as_utc():
    assert when(datetime(2026, 1, 2, 3, 4, 5)) == "2026-01-02 03:04:05 UTC"


def test_a_missing_value_is_written_as_nothing_so_a_default_can_follow():
    assert when(None) == count(None) == score(None) == ""


def test_counts_get_thousands_separators():
    assert [count(7), count(12345), count(1234567.0)] == ["7", "12,345", "1,234,567"]


def test_scores_have_two_decimals_whatever_their_size():
    assert [score(0.5), score(4), score(1234.567), score(-0.125)] == ["0.50", "4.00", "1,234.57", "-0.12"]


def test_the_filters_load_in_templates_by_their_short_names():
    rendered = Template("{% load display %}{{ t|when }} {{ n|count }} {{ s|score }}").render(
        Context({"t": datetime(2026, 12, 6, 14, 3, 27, tzinfo=UTC), "n": 216000, "s": 0.666})
    )
    assert rendered == "2026-12-06 14:03:27 UTC 216,000 0.67"


def test_a_preview_is_clipped_to_its_length_with_an_ellipsis_as_truncatechars_does():
    assert clip("a" * 200, 120) == "a" * 119 + "…"
    assert len(clip("a" * 200, 120)) == 120
    assert clip("a" * 120, 120) == "a" * 120
    assert clip(None, 120) == clip("", 120) == ""


def test_a_clipped_preview_is_still_escaped():
    template = Template("{% load display %}{{ text|clip:10 }}")
    rendered = template.render(Context({"text": "<b>bold</b> and more"}))
    assert rendered == "&lt;b&gt;bold&lt;/…"
