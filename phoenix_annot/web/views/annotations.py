"""The Annotate panel: a reviewer's own annotations of a span or of a whole trace."""

from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations import services
from phoenix_annot.annotations.configs import config_for_project
from phoenix_annot.annotations.models import (
    AnnotationSource,
    AnnotationType,
    AnnotatorKind,
    SpanAnnotation,
    TraceAnnotation,
    reviewer_identifier,
)
from phoenix_annot.core.htmx import wants_partial
from phoenix_annot.filtering.feedback import feedback_summaries_for_spans
from phoenix_annot.tracing.models import Span, Trace

from ..selectors.configs import configs_by_name, project_configs
from ..selectors.traces import AnnotationTargetView, span_panel, trace_panel


class AnnotationForm(forms.Form):
    """The panel's fields; that an annotation says something is the service's rule, as for the API."""

    name = forms.CharField(max_length=255)
    label = forms.CharField(max_length=255, required=False)
    score = forms.FloatField(required=False)
    explanation = forms.CharField(required=False, widget=forms.Textarea)


@dataclass(frozen=True)
class Target:
    kind: str
    obj: Span | Trace

    @property
    def trace(self) -> Trace:
        return self.obj if isinstance(self.obj, Trace) else self.obj.trace

    def panel(self, user: User) -> AnnotationTargetView:
        configs = project_configs(self.trace.project)
        if isinstance(self.obj, Span):
            return span_panel(self.obj, user=user, configs=configs)
        return trace_panel(self.obj, user=user, configs=configs)

    def trace_url(self) -> str:
        url = reverse("web:trace", args=[self.trace.trace_id])
        return f"{url}?span={self.obj.span_id}" if isinstance(self.obj, Span) else url


def target_for(kind: str, key: str) -> Target:
    if kind == "span":
        return Target(kind, get_object_or_404(Span.objects.select_related("trace__project"), span_id=key))
    if kind == "trace":
        return Target(kind, get_object_or_404(Trace.objects.select_related("project"), trace_id=key))
    raise Http404(f"Unknown annotation target {kind}")


def require_writer(user: User) -> None:
    if not user.can_write:
        raise PermissionDenied("Viewers cannot annotate.")


@login_required
@require_POST
def annotate(request: HttpRequest, kind: str, key: str) -> HttpResponse:
    """Create or replace the reviewer's own annotation of this name on the span or trace."""
    require_writer(request.user)
    target = target_for(kind, key)
    form = AnnotationForm(request.POST)
    errors: dict[str, list[str]] = {}
    if form.is_valid():
        try:
            _upsert(target, form.cleaned_data, user=request.user)
        except ValidationError as exc:
            errors = exc.message_dict
    else:
        errors = {
            field: [e["message"] for e in found] for field, found in form.errors.get_json_data().items()
        }
    return _panel_response(request, target, errors=errors, name=request.POST.get("name", ""))


@login_required
@require_POST
def annotation_delete(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """Delete one of the reviewer's own annotations; admins may delete anybody's."""
    require_writer(request.user)
    model = {"span": SpanAnnotation, "trace": TraceAnnotation}.get(kind)
    if model is None:
        raise Http404(f"Unknown annotation target {kind}")
    annotation = get_object_or_404(model.objects.select_related(kind), pk=pk)
    target = Target(kind, getattr(annotation, kind))
    services.annotation_delete(annotation=annotation, user=request.user)
    return _panel_response(request, target, errors={}, name="")


def _upsert(target: Target, values: dict[str, Any], *, user: User) -> None:
    name, label, score = values["name"].strip(), values["label"] or None, values["score"]
    config = config_for_project(name=name, project_id=target.trace.project_id)
    if (
        config is not None
        and config.type == AnnotationType.CATEGORICAL
        and label is not None
        and score is None
    ):
        # The form sends the chosen label; its score comes from the config, as in Phoenix's panel.
        score = next((v.get("score") for v in config.values if v["label"] == label), None)
    fields = {
        "name": name,
        "label": label,
        "score": score,
        "explanation": values["explanation"] or None,
        "annotator_kind": AnnotatorKind.HUMAN,
        "source": AnnotationSource.APP,
        "identifier": reviewer_identifier(user.pk),
        "user": user,
    }
    if isinstance(target.obj, Span):
        services.span_annotation_upsert(span=target.obj, **fields)
    else:
        services.trace_annotation_upsert(trace=target.obj, **fields)


def _panel_response(
    request: HttpRequest, target: Target, *, errors: dict[str, list[str]], name: str
) -> HttpResponse:
    if not wants_partial(request):
        for field, problems in errors.items():
            messages.error(request, f"{field}: {' '.join(problems)}")
        return redirect(target.trace_url())
    panel = target.panel(request.user)
    panel.errors = errors
    panel.error_name = name
    context: dict[str, Any] = {"panel": panel, "configs_by_name": configs_by_name()}
    if isinstance(target.obj, Span):
        context["oob_span"] = target.obj
        context["oob_summaries"] = feedback_summaries_for_spans([target.obj.pk])[target.obj.pk]
    response = render(request, "annotations/_panel.html", context)
    response["HX-Trigger"] = "annotations-changed"
    return response
