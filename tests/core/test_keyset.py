import pytest

from phoenix_annot.core.keyset import keyset_after
from phoenix_annot.tracing.models import Span
from tests.factories import SpanFactory, TraceFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("descending", [True, False])
@pytest.mark.parametrize("inclusive", [True, False])
def test_the_rows_after_a_cursor_are_those_after_it_in_the_order_ties_included(descending, inclusive):
    trace = TraceFactory()
    latencies = [5.0, 7.0, 7.0, 7.0, 9.0]
    spans = [SpanFactory(trace=trace, latency_ms=latency) for latency in latencies]
    order = ["-latency_ms", "-pk"] if descending else ["latency_ms", "pk"]
    ordered = list(Span.objects.order_by(*order))
    cursor = ordered[2]

    after = list(
        Span.objects.filter(
            keyset_after(
                "latency_ms", cursor.latency_ms, cursor.pk, descending=descending, inclusive=inclusive
            )
        ).order_by(*order)
    )

    assert after == (ordered[2:] if inclusive else ordered[3:])
    assert len(spans) == 5
