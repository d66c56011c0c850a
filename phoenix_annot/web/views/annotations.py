"""The Annotate panel: a reviewer's own annotations of a span, of a whole trace or of a session; and the
relevance of each retrieved document of a retriever span."""

import json
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from django_htmx.http import trigger_client_event

from phoenix_annot.accounts import access
from phoenix_annot.accounts.access import row_or_404
from phoenix_annot.accounts.models import User
from phoenix_annot.annotations import services
from phoenix_annot.annotations.configs import config_for_project
from phoenix_annot.annotations.models import (
    AnnotationSource,
    AnnotatorKind,
    SessionAnnotation,
    SpanAnnotation,
    TraceAnnotation,
    reviewer_identifier,
)
from phoenix_annot.core.htmx import wants_partial
from phoenix_annot.core.numbers import ascii_int
from phoenix_annot.filtering.feedback import feedback_summaries_for_spans
from phoenix_annot.tracing.models import Project, Session, Span, Trace

from ..selectors.configs import configs_by_name, project_configs
from ..selectors.sessions import session_configs
from ..selectors.traces import (
    AnnotationTargetView,
    documents_review,
    error_messages,
    session_panel,
    span_panel,
    trace_panel,
)
from ..span_display import span_display

VIEWERS_DENIED = "Viewers cannot annotate."
# What an annotation's Undo puts back: every field a write replaces.
RESTORED_FIELDS = frozenset({"label", "score", "explanation", "metadata", "annotator_kind", "source"})


class AnnotationForm(forms.Form):
    """The panel's fields; that an annotation says something is the service's rule, as for the API."""

    name = forms.CharField(max_length=255)
    label = forms.CharField(max_length=255, required=False)
    score = forms.FloatField(required=False)
    explanation = forms.CharField(required=False, widget=forms.Textarea)


class UndoForm(forms.Form):
    """The reviewer's own annotation as it was before a save, which the save's Undo sends back."""

    name = forms.CharField(max_length=255)
    # JSON null (or nothing) when the reviewer had no annotation of this name: Undo deletes theirs.
    previous = forms.JSONField(required=False)

    def clean_previous(self) -> dict[str, Any] | None:
        previous = self.cleaned_data["previous"]
        if previous is not None and (not isinstance(previous, dict) or set(previous) != RESTORED_FIELDS):
            raise ValidationError("This undo does not describe an annotation; reload the page and try again.")
        return previous


@dataclass(frozen=True)
class Saved:
    """The confirmation a write shows: what it saved and, unless it was an undo, how to take it back."""

    kind: str
    key: str
    text: str
    undo_name: str = ""
    undo_previous: str = ""


Annotation = SpanAnnotation | TraceAnnotation | SessionAnnotation
ANNOTATION_MODELS: dict[str, type[Annotation]] = {
    "span": SpanAnnotation,
    "trace": TraceAnnotation,
    "session": SessionAnnotation,
}


@dataclass(frozen=True)
class Target:
    kind: str
    obj: Span | Trace | Session

    @property
    def key(self) -> str:
        if isinstance(self.obj, Session):
            return str(self.obj.pk)
        return self.obj.span_id if isinstance(self.obj, Span) else self.obj.trace_id

    @property
    def project(self) -> Project:
        return self.obj.trace.project if isinstance(self.obj, Span) else self.obj.project

    def panel(self, user: User) -> AnnotationTargetView:
        if isinstance(self.obj, Session):
            return session_panel(self.obj, user=user, configs=session_configs(self.project))
        configs = project_configs(self.project)
        if isinstance(self.obj, Span):
            return span_panel(self.obj, user=user, configs=configs)
        return trace_panel(self.obj, user=user, configs=configs)

    def mine(self, name: str, user: User) -> Annotation | None:
        """The reviewer's own annotation of this name, the one the panel writes."""
        key = {self.kind: self.obj, "name": name, "identifier": reviewer_identifier(user.pk)}
        return ANNOTATION_MODELS[self.kind].objects.filter(**key).first()

    def page_url(self) -> str:
        """The page the panel is on, for a request made without htmx."""
        if isinstance(self.obj, Session):
            return reverse("web:session", args=[self.obj.pk])
        if isinstance(self.obj, Trace):
            return reverse("web:trace", args=[self.obj.trace_id])
        return f"{reverse('web:trace', args=[self.obj.trace.trace_id])}?span={self.obj.span_id}"


def target_for(user: User, kind: str, key: str) -> Target:
    """The span, trace or session to annotate, of a project `user` may see, else a 404; a 403 when they
    only view it, and before any lookup for a viewer everywhere."""
    require_writer(user)
    if kind == "span":
        target = row_or_404(user, Span.objects.select_related("trace__project"), span_id=key)
    elif kind == "trace":
        target = row_or_404(user, Trace.objects.select_related("project"), trace_id=key)
    elif kind == "session":
        target = row_or_404(user, Session.objects.select_related("project"), pk=ascii_int(key))
    else:
        raise Http404(f"Unknown annotation target {kind}")
    access.require_writer(target, VIEWERS_DENIED)
    return Target(kind, target)


def require_writer(user: User) -> None:
    if not user.can_write:
        raise PermissionDenied(VIEWERS_DENIED)


@login_required
@require_POST
def annotate(request: HttpRequest, kind: str, key: str) -> HttpResponse:
    """Create or replace the reviewer's own annotation of this name on the span or trace."""
    target = target_for(request.user, kind, key)
    form = AnnotationForm(request.POST)
    errors: dict[str, list[str]] = {}
    saved = None
    if form.is_valid():
        name = form.cleaned_data["name"].strip()
        previous = target.mine(name, request.user)
        try:
            annotation = _upsert(target, form.cleaned_data, user=request.user)
        except ValidationError as exc:
            errors = exc.message_dict
        else:
            saved = Saved(
                kind=target.kind,
                key=target.key,
                text=f"{name} = {_result(annotation)}",
                undo_name=name,
                undo_previous=json.dumps(None if previous is None else _restored(previous)),
            )
    else:
        errors = _form_errors(form)
    return _panel_response(request, target, errors=errors, name=request.POST.get("name", ""), saved=saved)


@login_required
@require_POST
def annotation_undo(request: HttpRequest, kind: str, key: str) -> HttpResponse:
    """Put the reviewer's own annotation back as it was before a save: its previous values, or none."""
    target = target_for(request.user, kind, key)
    form = UndoForm(request.POST)
    if not form.is_valid():
        return _panel_response(request, target, errors=_form_errors(form), name="")
    name, previous = form.cleaned_data["name"], form.cleaned_data["previous"]
    errors: dict[str, list[str]] = {}
    try:
        if previous is None:
            mine = target.mine(name, request.user)
            if mine is not None:
                services.annotation_delete(annotation=mine, user=request.user)
            text = f"your {name} annotation is removed"
        else:
            annotation = _write(target, name=name, user=request.user, values=previous)
            text = f"{name} is back to {_result(annotation)}"
    except ValidationError as exc:
        errors = exc.message_dict
    saved = None if errors else Saved(kind=target.kind, key=target.key, text=f"Undone: {text}")
    return _panel_response(request, target, errors=errors, name=name, saved=saved)


@login_required
@require_POST
def annotation_delete(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Delete one of the reviewer's own annotations; admins may delete anybody's."""
    require_writer(request.user)
    model = ANNOTATION_MODELS.get(kind)
    if model is None:
        raise Http404(f"Unknown annotation target {kind}")
    annotation = row_or_404(
        request.user, model.objects.select_related(kind), project_field=f"{kind}__project", pk=pk
    )
    access.require_writer(annotation, VIEWERS_DENIED)
    target = Target(kind, getattr(annotation, kind))
    services.annotation_delete(annotation=annotation, user=request.user)
    return _panel_response(request, target, errors={}, name="")


@login_required
@require_POST
def document_annotate(request: HttpRequest, span_id: str, position: int) -> HttpResponse:
    """Set the reviewer's own relevance of one retrieved document: one of the span's relevance choices."""
    require_writer(request.user)
    span = row_or_404(request.user, Span.objects.select_related("trace__project"), span_id=span_id)
    access.require_writer(span, VIEWERS_DENIED)
    documents = span_display(span).documents
    if position >= len(documents):
        raise Http404(f"Span {span_id} has no document {position}")
    errors, saved = [], None
    try:
        annotation = services.document_relevance_set(
            span=span, document_position=position, label=request.POST.get("label", ""), user=request.user
        )
    except ValidationError as exc:
        errors = error_messages(exc.message_dict)
    else:
        text = f"Saved {annotation.name} = {annotation.label} for document #{position}"
        saved = Saved(kind="span", key=span.span_id, text=text)
    if not wants_partial(request):
        for message in errors:
            messages.error(request, message)
        return redirect(Target("span", span).page_url())
    review = documents_review(
        span, documents=documents, user=request.user, configs=project_configs(span.trace.project)
    )
    context = {
        "documents": review,
        "row": review.rows[position],
        "errors": errors,
        "saved": saved,
        "may_write": access.writable(span),
    }
    return trigger_client_event(
        render(request, "annotations/_document_saved.html", context), "annotations-changed"
    )


def _upsert(target: Target, values: dict[str, Any], *, user: User) -> Annotation:
    name, label, score = values["name"].strip(), values["label"] or None, values["score"]
    config = config_for_project(name=name, project_id=target.project.pk)
    if config is not None:
        # The form sends the chosen label; its score comes from the config.
        score = config.score_for(label, score)
    fields = {
        "label": label,
        "score": score,
        "explanation": values["explanation"] or None,
        "annotator_kind": AnnotatorKind.HUMAN,
        "source": AnnotationSource.APP,
    }
    return _write(target, name=name, user=user, values=fields)


def _write(target: Target, *, name: str, user: User, values: dict[str, Any]) -> Annotation:
    """Upsert the reviewer's own annotation of this name with these values."""
    fields = {**values, "name": name, "identifier": reviewer_identifier(user.pk), "user": user}
    if isinstance(target.obj, Span):
        return services.span_annotation_upsert(span=target.obj, **fields)
    if isinstance(target.obj, Session):
        return services.session_annotation_upsert(session=target.obj, **fields)
    return services.trace_annotation_upsert(trace=target.obj, **fields)


def _restored(annotation: Annotation) -> dict[str, Any]:
    return {field: getattr(annotation, field) for field in RESTORED_FIELDS}


def _result(annotation: Annotation) -> str:
    """An annotation's result in the reviewer's words: its label, else its score, else that it explains."""
    if annotation.label:
        return annotation.label
    if annotation.score is not None:
        return f"{annotation.score:g}"
    return "an explanation"


def _form_errors(form: forms.Form) -> dict[str, list[str]]:
    return {field: [e["message"] for e in found] for field, found in form.errors.get_json_data().items()}


def _panel_response(
    request: HttpRequest,
    target: Target,
    *,
    errors: dict[str, list[str]],
    name: str,
    saved: Saved | None = None,
) -> HttpResponse:
    if not wants_partial(request):
        for message in error_messages(errors):
            messages.error(request, message)
        return redirect(target.page_url())
    panel = target.panel(request.user)
    panel.errors = errors
    panel.error_name = name if errors else ""
    context: dict[str, Any] = {"panel": panel, "configs_by_name": configs_by_name(), "saved": saved}
    if isinstance(target.obj, Span):
        context["oob_span"] = target.obj
        context["oob_summaries"] = feedback_summaries_for_spans([target.obj.pk])[target.obj.pk]
    response = render(request, "annotations/_panel.html", context)
    response["HX-Trigger"] = "annotations-changed"
    return response
