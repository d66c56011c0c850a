"""The Corrected output editor: a reviewer saves (or deletes) their own corrected output of a span, a trace
or a session without leaving the page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from phoenix_annot.core.htmx import wants_partial
from phoenix_annot.corrections.models import CorrectionTarget, CorrectionVia
from phoenix_annot.corrections.services import correction_delete, correction_save

from ..selectors.corrections import CorrectionEditor, correction_editor, parse_output
from .annotations import Target, target_for


@login_required
@require_POST
def correction_save_view(request: HttpRequest, kind: str, key: str) -> HttpResponse:
    """Save the reviewer's corrected output (`output`), or delete it (`delete`)."""
    target = target_for(request.user, kind, key)
    editor = correction_editor(kind=CorrectionTarget(target.kind), target=target.obj, user=request.user)
    text = request.POST.get("output", "")
    via = CorrectionVia.QUEUE if request.POST.get("via") == CorrectionVia.QUEUE else CorrectionVia.PAGE
    try:
        if "delete" in request.POST:
            if editor.mine is not None:
                correction_delete(correction=editor.mine, user=request.user, via=via)
        else:
            correction_save(
                kind=CorrectionTarget(target.kind),
                target=target.obj,
                output=_parsed(editor, text),
                user=request.user,
                via=via,
            )
    except ValidationError as refused:
        # Every refusal is about the one field, the output.
        errors = [f"Corrected output: {message}" for message in refused.messages]
        return _response(request, target, errors=errors, sent=text, via=via)
    return _response(request, target, errors=[], sent=None, via=via)


def _parsed(editor: CorrectionEditor, text: str) -> object:
    try:
        return parse_output(editor, text)
    except ValueError as error:
        raise ValidationError({"output": f"This is not valid JSON ({error})."}) from None


def _response(
    request: HttpRequest, target: Target, *, errors: list[str], sent: str | None, via: str
) -> HttpResponse:
    if not wants_partial(request):
        for message in errors:
            messages.error(request, message)
        return redirect(target.page_url())
    editor = correction_editor(kind=CorrectionTarget(target.kind), target=target.obj, user=request.user)
    editor.errors, editor.sent = errors, sent
    context = {"editor": editor, "saved": not errors, "via": via if via == CorrectionVia.QUEUE else None}
    response = render(request, "corrections/_editor.html", context)
    if not errors:
        # The History disclosure reloads on this event.
        response["HX-Trigger"] = "annotations-changed"
    return response
