"""The tables' "Label…": one label of a config written to the ticked rows, or to every row matching the
list's filter, after a confirmation that counts what it will do; the notice after it offers Undo. The rules
are annotations/bulk.py's, as /v1/projects/{p}/annotation_bulk_actions applies them."""

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from phoenix_annot.accounts.access import (
    may_write,
    project_or_404,
    require_writer,
    row_or_404,
    visible_projects,
)
from phoenix_annot.annotations.bulk import (
    BulkLabel,
    BulkUndoRefused,
    annotation_bulk_undo,
    annotations_bulk_label,
    bulk_label_plan,
)
from phoenix_annot.annotations.models import (
    AnnotationBulkAction,
    AnnotationConfig,
    PendingTarget,
    reviewer_identifier,
)
from phoenix_annot.tracing.models import Trace

from ..forms import SelectedRowsForm
from ..selectors.configs import project_configs
from ..selectors.sessions import matching_sessions
from ..selectors.spans import matching_spans

# What each table's rows are.
TAB_TARGETS = {"spans": PendingTarget.SPAN, "traces": PendingTarget.TRACE, "sessions": PendingTarget.SESSION}
MINE, SHARED = "mine", "shared"


class BulkLabelForm(SelectedRowsForm):
    """The selection bar's rows and the label to write to them."""

    tab = forms.ChoiceField(choices=[(tab, tab) for tab in TAB_TARGETS], required=False)
    bulk_name = forms.CharField(max_length=255, label="Annotation")
    bulk_label = forms.CharField(max_length=255, required=False, label="Label")
    bulk_score = forms.FloatField(required=False, label="Score")
    bulk_explanation = forms.CharField(required=False, label="Explanation")
    bulk_as = forms.ChoiceField(
        choices=[(MINE, "your own label"), (SHARED, "the shared label (no identifier)")],
        required=False,
        label="Write as",
    )

    def target_kind(self) -> PendingTarget:
        return TAB_TARGETS[self.cleaned_data["tab"] or "sessions"]

    def targets(self, request: HttpRequest) -> QuerySet[Any]:
        """The rows: the ticked ones, or every row of the list's filter, evaluated on the server."""
        values = self.cleaned_data
        project, tab = values["project"], values["tab"] or "sessions"
        params = QueryDict(values["filter_query"] or "")
        if tab == "sessions":
            sessions = matching_sessions(project=project, params=params)
            return sessions if values["all_matching"] else sessions.filter(session_id__in=values["session"])
        spans = matching_spans(project=project, params=params, user=request.user, tab=tab)
        if not values["all_matching"]:
            spans = spans.filter(span_id__in=values["span"])
        return spans if tab == "spans" else Trace.objects.filter(pk__in=spans.values("trace_id"))

    def bulk(self, request: HttpRequest) -> dict[str, Any]:
        """What the plan and the write are given: the project, the kind of rows, the rows and the label."""
        return {
            "project": self.cleaned_data["project"],
            "target_kind": self.target_kind(),
            "targets": self.targets(request),
            "label": self.label(request),
            "user": request.user,
        }

    def label(self, request: HttpRequest) -> BulkLabel:
        values = self.cleaned_data
        mine = values["bulk_as"] != SHARED
        return BulkLabel(
            name=values["bulk_name"],
            label=values["bulk_label"] or None,
            score=values["bulk_score"],
            explanation=values["bulk_explanation"] or None,
            identifier=reviewer_identifier(request.user.pk) if mine else "",
        )


def _writer(request: HttpRequest) -> None:
    if not request.user.can_write:
        raise PermissionDenied("Viewers cannot annotate.")


def _form(request: HttpRequest) -> BulkLabelForm:
    """The posted form, its project one the user may see; a PermissionDenied where they only view it."""
    form = BulkLabelForm(request.POST)
    form.fields["project"].queryset = visible_projects(request.user)
    if form.is_valid() and not may_write(request.user, form.cleaned_data["project"]):
        raise PermissionDenied("Viewers cannot annotate.")
    return form


def _form_errors(form: forms.Form) -> list[str]:
    return form.non_field_errors() or [
        f"{form[name].label}: {' '.join(errors)}" for name, errors in form.errors.items()
    ]


def _refusal(error: ValidationError) -> list[str]:
    """A service's refusal, each message after the field it names."""
    if hasattr(error, "error_dict"):
        return [f"{name}: {' '.join(found)}" for name, found in error.message_dict.items()]
    return error.messages


@login_required
def bulk_label_form(request: HttpRequest, pk: int) -> HttpResponse:
    """The dialog's fields: the project's configs and the value the first one takes."""
    project = project_or_404(request.user, pk)
    configs = project_configs(project)
    context = {"project": project, "configs": configs, "config": configs[0] if configs else None}
    return render(request, "annotations/_bulk_form.html", context)


@login_required
def bulk_label_value(request: HttpRequest, pk: int) -> HttpResponse:
    """The value field of the config chosen in the dialog: a label, a score, or (free text) none."""
    project = project_or_404(request.user, pk)
    config = get_object_or_404(AnnotationConfig, projects=project, name=request.GET.get("bulk_name", ""))
    return render(request, "annotations/_bulk_value.html", {"config": config})


@login_required
@require_POST
def bulk_label_preview(request: HttpRequest) -> HttpResponse:
    """The confirmation: how many rows, how many hold a value already, whose values would be replaced and
    whose rows would be skipped; nothing is written."""
    _writer(request)
    form = _form(request)
    context: dict[str, Any] = {"errors": []}
    if not form.is_valid():
        context["errors"] = _form_errors(form)
    else:
        try:
            context["plan"] = bulk_label_plan(**form.bulk(request))
        except ValidationError as refused:
            context["errors"] = _refusal(refused)
        except PermissionDenied as refused:
            context["errors"] = [str(refused)]
        context["target"] = form.target_kind()
    return render(request, "annotations/_bulk_confirm.html", context)


@login_required
@require_POST
def bulk_label(request: HttpRequest) -> HttpResponse:
    """Write the label, and go back to the list with a notice that offers Undo."""
    _writer(request)
    back = request.headers.get("Referer") or reverse("web:projects")
    form = _form(request)
    if not form.is_valid():
        for error in _form_errors(form):
            messages.error(request, error)
        return redirect(back)
    try:
        action = annotations_bulk_label(**form.bulk(request))
    except ValidationError as refused:
        for error in _refusal(refused):
            messages.error(request, error)
        return redirect(back)
    except PermissionDenied as refused:
        messages.error(request, str(refused))
        return redirect(back)
    # The notice holds the Undo form: rendered (and escaped) here, kept safe by the message storage.
    notice = render_to_string("annotations/_bulk_done.html", {"action": action}, request=request)
    messages.success(request, mark_safe(notice))
    return redirect(back)


@login_required
@require_POST
def bulk_label_undo(request: HttpRequest, pk: int) -> HttpResponse:
    """Undo a bulk label: every row it changed back as it was, or the reason it cannot be."""
    _writer(request)
    action = row_or_404(request.user, AnnotationBulkAction.objects.select_related("project"), pk=pk)
    require_writer(action, "Viewers cannot annotate.")
    try:
        undo = annotation_bulk_undo(action=action, user=request.user)
    except (BulkUndoRefused, PermissionDenied) as refused:
        messages.error(request, str(refused))
    else:
        messages.success(
            request,
            f"Undone: {action.name} on {undo.selected_count} {action.target_kind}s is back as it was "
            f"({undo.created_count} removed, {undo.replaced_count} restored).",
        )
    return redirect(request.headers.get("Referer") or reverse("web:projects"))
