"""`{% queue_correction_editor review %}`: the Corrected output editor of a review queue's item, from the
review page's own template, which has no other way to reach it."""

from typing import Any

from django import template

from phoenix_annot.corrections.models import CorrectionTarget, CorrectionVia

from ..selectors.corrections import correction_editor

register = template.Library()


@register.inclusion_tag("corrections/_editor.html", takes_context=True)
def queue_correction_editor(context: template.Context, review: Any) -> dict[str, Any]:
    """The editor of the item's span, trace or session, saved `via` the queue; in a blind queue the reviewer
    does not see others' corrections, as they do not see others' labels."""
    kind = CorrectionTarget(review.kind)
    target = review.span if kind == CorrectionTarget.SPAN else getattr(review.item, kind)
    editor = correction_editor(kind=kind, target=target, user=context["request"].user)
    if review.others_hidden:
        editor.others = []
    return {"editor": editor, "via": CorrectionVia.QUEUE, "csrf_token": context.get("csrf_token")}
