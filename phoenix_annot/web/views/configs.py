"""Annotation configs: what the Annotate panel offers, per project. Admins only."""

from collections.abc import Callable
from functools import wraps
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render

from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.configs import (
    annotation_config_create,
    annotation_config_set_projects,
    annotation_config_update,
)
from phoenix_annot.annotations.models import AnnotationConfig, AnnotationType, OptimizationDirection
from phoenix_annot.tracing.models import Project


def admin_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @wraps(view)
    @login_required
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        user: User = request.user
        if not user.is_admin:
            raise PermissionDenied("Only admins manage annotation configs.")
        return view(request, *args, **kwargs)

    return wrapped


class ConfigForm(forms.Form):
    name = forms.CharField(max_length=255)
    type = forms.ChoiceField(choices=AnnotationType.choices)
    description = forms.CharField(required=False, widget=forms.Textarea(attrs={"rows": 2}))
    optimization_direction = forms.ChoiceField(choices=OptimizationDirection.choices)
    values = forms.CharField(
        required=False,
        widget=forms.Textarea(attrs={"rows": 4, "placeholder": "correct = 1\nincorrect = 0"}),
        help_text="Categorical only: one label per line, optionally '= score'.",
    )
    lower_bound = forms.FloatField(required=False)
    upper_bound = forms.FloatField(required=False)
    threshold = forms.FloatField(required=False, help_text="Freeform only.")
    projects = forms.ModelMultipleChoiceField(
        queryset=Project.objects.order_by("name"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def clean_values(self) -> list[dict[str, Any]]:
        values = []
        for number, line in enumerate(self.cleaned_data["values"].splitlines(), start=1):
            if not line.strip():
                continue
            label, _, score = line.partition("=")
            try:
                values.append({"label": label.strip(), "score": float(score) if score.strip() else None})
            except ValueError:
                raise ValidationError(f"Line {number}: the score after '=' must be a number.") from None
        return values

    @classmethod
    def initial_for(cls, config: AnnotationConfig) -> dict[str, Any]:
        lines = [
            f"{v['label']} = {v['score']}" if v.get("score") is not None else v["label"]
            for v in config.values
        ]
        return {
            "name": config.name,
            "type": config.type,
            "description": config.description,
            "optimization_direction": config.optimization_direction,
            "values": "\n".join(lines),
            "lower_bound": config.lower_bound,
            "upper_bound": config.upper_bound,
            "threshold": config.threshold,
            "projects": list(config.projects.all()),
        }


@admin_required
def config_list(request: HttpRequest) -> HttpResponse:
    configs = AnnotationConfig.objects.prefetch_related("projects").order_by("name")
    return render(request, "configs/list.html", {"configs": configs})


@admin_required
def config_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    config = get_object_or_404(AnnotationConfig, pk=pk) if pk is not None else None
    if request.method == "POST":
        form = ConfigForm(request.POST)
        if form.is_valid() and _save(form, config):
            messages.success(request, f"Saved annotation config “{form.cleaned_data['name']}”.")
            return redirect("web:configs")
    else:
        form = ConfigForm(initial=ConfigForm.initial_for(config) if config else None)
    return render(request, "configs/edit.html", {"form": form, "config": config})


def _save(form: ConfigForm, config: AnnotationConfig | None) -> bool:
    """Save through the service; its refusals become form errors on the field they name."""
    values = dict(form.cleaned_data)
    projects = values.pop("projects")
    name = values.pop("name")
    try:
        if config is None:
            config = annotation_config_create(name=name, **values)
        else:
            config = annotation_config_update(config=config, name=name, **values)
    except ValidationError as exc:
        for field, problems in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, problems)
        return False
    annotation_config_set_projects(config=config, projects=list(projects))
    return True
