"""factory_boy factories for corrected outputs (beside tests/factories.py, which the other apps share)."""

import factory

from phoenix_annot.corrections.models import Correction, CorrectionFormat, CorrectionTarget
from tests.factories import SpanFactory, UserFactory


class CorrectionFactory(factory.django.DjangoModelFactory):
    """A reviewer's corrected text of a span; for a trace or a session, pass `target_kind`, the target and
    `span=None`."""

    class Meta:
        model = Correction

    target_kind = CorrectionTarget.SPAN
    span = factory.SubFactory(SpanFactory)
    trace = None
    session = None
    project = factory.LazyAttribute(lambda c: (c.span or c.trace or c.session).project)
    format = CorrectionFormat.TEXT
    output = "The corrected answer."
    user = factory.SubFactory(UserFactory)


def llm_attributes(answer: str = "Lisbon is the capital of Spain.") -> dict:
    """An LLM span's attributes: a question and the model's answer, as chat messages."""
    return {
        "openinference": {"span": {"kind": "LLM"}},
        "llm": {
            "input_messages": [{"message": {"role": "user", "content": "What is the capital of Spain?"}}],
            "output_messages": [{"message": {"role": "assistant", "content": answer}}],
        },
    }
