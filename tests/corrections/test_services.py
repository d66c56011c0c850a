import pytest
from django.core.exceptions import ValidationError

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.ownership import NotYours
from phoenix_annot.corrections.models import (
    Correction,
    CorrectionEvent,
    CorrectionFormat,
    CorrectionTarget,
    CorrectionVia,
)
from phoenix_annot.corrections.outputs import current_output
from phoenix_annot.corrections.services import correction_delete, correction_save, correction_update
from tests.accounts.factories import ProjectMembershipFactory
from tests.corrections.factories import llm_attributes
from tests.factories import SpanFactory, TraceFactory, UserFactory, conversation

pytestmark = pytest.mark.django_db

SPAN = CorrectionTarget.SPAN


def save(target, output, user, kind=SPAN, **kwargs) -> Correction:
    return correction_save(
        kind=kind, target=target, output=output, user=user, via=CorrectionVia.PAGE, **kwargs
    )


def test_an_llm_answer_is_corrected_as_the_assistants_message_text():
    span = SpanFactory(span_kind="LLM", attributes=llm_attributes("Lisbon."))

    correction = save(span, "Madrid.", UserFactory())

    assert current_output(span).text == "Lisbon."
    assert (correction.format, correction.output) == (CorrectionFormat.MESSAGE, "Madrid.")


def test_a_json_output_is_corrected_as_json_and_a_plain_one_as_text():
    json_span = SpanFactory(
        span_kind="CHAIN",
        attributes={"output": {"value": '{"answer": 1}', "mime_type": "application/json"}},
    )
    text_span = SpanFactory(span_kind="CHAIN")

    assert current_output(json_span).value == {"answer": 1}
    assert save(json_span, {"answer": 2}, UserFactory()).format == CorrectionFormat.JSON
    assert save(text_span, "Paris, France.", UserFactory()).format == CorrectionFormat.TEXT


def test_a_trace_is_corrected_as_its_root_span_and_a_session_as_its_last_answer():
    trace = TraceFactory()
    SpanFactory(trace=trace, span_kind="LLM", attributes=llm_attributes("Lisbon."))
    SpanFactory(trace=trace, parent_id="f" * 16, span_kind="CHAIN", output_value="inner")
    session = conversation(trace.project, [("Hi", "Hello"), ("Capital of Spain?", "Lisbon.")])

    assert current_output(trace).text == "Lisbon."
    assert current_output(session).text == "Lisbon."
    correction = save(session, "Madrid.", UserFactory(), kind=CorrectionTarget.SESSION)
    assert correction.format == CorrectionFormat.MESSAGE


def test_each_reviewer_holds_their_own_correction_and_saving_again_replaces_it():
    span = SpanFactory()
    ana, bob = UserFactory(), UserFactory()

    first = save(span, "One.", ana)
    save(span, "Two.", bob)
    again = save(span, "Three.", ana)

    assert again.pk == first.pk
    assert sorted(Correction.objects.values_list("output", flat=True)) == ["Three.", "Two."]


def test_every_change_appends_an_event_with_the_values_before_and_after():
    span = SpanFactory()
    ana = UserFactory()

    correction = save(span, "One.", ana)
    save(span, "One.", ana)  # unchanged: no event
    save(span, "Two.", ana)
    correction_delete(correction=Correction.objects.get(pk=correction.pk), user=ana, via=CorrectionVia.API)

    events = list(CorrectionEvent.objects.order_by("pk").values_list("action", "before", "after", "via"))
    one = {"format": "text", "output": "One.", "gold": False}
    two = {**one, "output": "Two."}
    assert events == [
        ("create", None, one, "page"),
        ("update", one, two, "page"),
        ("delete", two, None, "api"),
    ]
    assert {event.target_key for event in CorrectionEvent.objects.all()} == {span.span_id}
    assert not Correction.objects.exists()


def test_another_reviewer_can_neither_change_nor_delete_a_correction_but_an_admin_can():
    correction = save(SpanFactory(), "Mine.", UserFactory(username="ana"))
    bob = UserFactory()

    with pytest.raises(NotYours, match="belongs to user 'ana'"):
        correction_update(correction=correction, output="Bob's.", user=bob, via=CorrectionVia.API)
    with pytest.raises(NotYours):
        correction_delete(correction=correction, user=bob, via=CorrectionVia.API)

    admin = UserFactory(role=User.Role.ADMIN)
    correction_update(correction=correction, output="Fixed by an admin.", user=admin, via=CorrectionVia.API)
    correction.refresh_from_db()
    assert (correction.output, correction.user.username) == ("Fixed by an admin.", "ana")
    assert CorrectionEvent.objects.latest("pk").user == admin


def test_only_an_adjudicator_of_the_project_marks_a_correction_gold():
    span = SpanFactory()
    adjudicator = ProjectMembershipFactory(project=span.project, can_adjudicate=True).user
    elsewhere = ProjectMembershipFactory(can_adjudicate=True).user

    with pytest.raises(NotYours, match="adjudicators"):
        save(span, "Mine.", UserFactory(), gold=True)
    with pytest.raises(NotYours, match="adjudicators"):
        save(span, "Mine.", elsewhere, gold=True)
    gold = save(span, "Gold.", adjudicator, gold=True)
    admins = save(span, "Also gold.", UserFactory(role=User.Role.ADMIN), gold=True)

    assert gold.gold and admins.gold
    assert not CorrectionEvent.objects.filter(after__output="Mine.").exists()


@pytest.mark.parametrize(
    ("output", "message"),
    [("   ", "empty"), ({"not": "text"}, "as text"), ("nul\x00", "NUL character")],
)
def test_a_bad_output_is_refused_naming_the_field_and_nothing_is_written(output, message):
    with pytest.raises(ValidationError, match=message) as refused:
        save(SpanFactory(), output, UserFactory())

    assert "output" in refused.value.message_dict
    assert not Correction.objects.exists()
    assert not CorrectionEvent.objects.exists()
