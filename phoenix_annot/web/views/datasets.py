from collections.abc import Callable
from typing import Any, ClassVar
from urllib.parse import quote

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.http import require_POST

from phoenix_annot.datasets.exports import EXPORT_FORMATS, openai_ft_report
from phoenix_annot.datasets.models import Dataset, DatasetSplit, DatasetVersion, ExampleRevision
from phoenix_annot.datasets.selectors import (
    dataset_versions_numbered,
    datasets_with_example_count,
    example_revisions_at_version,
    in_splits,
    splits_at_version,
    with_example_numbers,
)
from phoenix_annot.datasets.services import (
    MAX_SPLIT_NAME_LENGTH,
    DuplicateDatasetName,
    SpansAdded,
    dataset_add_spans,
    dataset_create,
    dataset_split_randomly,
)
from phoenix_annot.datasets.sessions import SessionsAdded
from phoenix_annot.tracing.models import Project

from ..selectors.spans import matching_spans
from ..templatetags.display import count

EXAMPLES_PER_PAGE = 50


class AddRowsForm(forms.Form):
    """What a table's selection bar posts: the rows chosen (ids in `rows_field`, or every row matching the
    list's filter) and the dataset to add them to, or the name of a new one."""

    rows_field: ClassVar[str]
    project = forms.ModelChoiceField(queryset=Project.objects.all())
    all_matching = forms.BooleanField(required=False)
    filter_query = forms.CharField(required=False)
    dataset = forms.ModelChoiceField(queryset=Dataset.objects.all(), required=False)
    new_dataset_name = forms.CharField(max_length=255, required=False)
    split = forms.ChoiceField(choices=[("", "none"), ("train", "train"), ("test", "test")], required=False)
    new_split_name = forms.CharField(max_length=MAX_SPLIT_NAME_LENGTH, required=False)

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        # Row ids are checked against the project by the view's query, not against a fixed list of choices.
        self.fields[self.rows_field].valid_value = lambda value: True

    def clean(self) -> dict:
        cleaned = super().clean()
        if not cleaned.get("dataset") and not (cleaned.get("new_dataset_name") or "").strip():
            raise ValidationError("Choose a dataset or name a new one.")
        if not cleaned.get("all_matching") and not cleaned.get(self.rows_field):
            raise ValidationError("Select at least one row.")
        # A new split's name wins over the list; neither is no split.
        cleaned["split_name"] = (cleaned.get("new_split_name") or "").strip() or cleaned.get("split") or None
        return cleaned


class AddSpansForm(AddRowsForm):
    rows_field = "span"
    tab = forms.ChoiceField(choices=[("spans", "spans"), ("traces", "traces")], required=False)
    span = forms.MultipleChoiceField(required=False, choices=[])


@login_required
@require_POST
def dataset_add_spans_view(request: HttpRequest) -> HttpResponse:
    """Add the selected spans, or every span matching the list's filter, to a dataset as one version."""

    def add(dataset: Dataset, values: dict[str, Any]) -> SpansAdded:
        params = QueryDict(values["filter_query"] or "")
        tab = values["tab"] or "spans"
        spans = matching_spans(project=values["project"], params=params, user=request.user, tab=tab)
        if not values["all_matching"]:
            spans = spans.filter(span_id__in=values["span"])
        return dataset_add_spans(
            dataset=dataset, spans=spans, user=request.user, split_name=values["split_name"]
        )

    return add_rows_to_dataset(request, AddSpansForm, add)


def add_rows_to_dataset(
    request: HttpRequest,
    form_class: type[AddRowsForm],
    add: Callable[[Dataset, dict[str, Any]], SpansAdded],
) -> HttpResponse:
    """The selection bar's post: check it, `add` the rows to the dataset chosen (created here when new) in one
    transaction, and go to the dataset, or back to the list with the reason it was refused."""
    if not request.user.can_write:
        raise PermissionDenied("Viewers cannot change datasets.")
    form = form_class(request.POST)
    if not form.is_valid():
        # Field errors by label only when there is no form-wide one (which has no field, nor label).
        for error in form.non_field_errors() or [
            f"{form[name].label}: {' '.join(errors)}" for name, errors in form.errors.items()
        ]:
            messages.error(request, error)
        return redirect(request.headers.get("Referer") or reverse("web:projects"))
    values = form.cleaned_data
    try:
        # One boundary: a new dataset whose rows are refused is not left behind empty.
        with transaction.atomic(durable=True):
            dataset = values["dataset"] or dataset_create(
                name=values["new_dataset_name"].strip(), user=request.user
            )
            added = add(dataset, values)
    except DuplicateDatasetName:
        messages.error(
            request, f"A dataset named “{values['new_dataset_name']}” already exists; pick it in the list."
        )
        return redirect(request.headers.get("Referer") or reverse("web:projects"))
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect(request.headers.get("Referer") or reverse("web:projects"))
    level = messages.SUCCESS if added.added else messages.INFO
    in_split = f" All in split “{values['split_name']}”." if values["split_name"] else ""
    messages.add_message(request, level, added_message(dataset, added) + in_split)
    return redirect("web:dataset", pk=dataset.pk)


def added_message(dataset: Dataset, added: SpansAdded) -> str:
    new = f"{count(added.added)} new example{pluralize(added.added)}"
    revised = f", {count(added.revised)} revised" if isinstance(added, SessionsAdded) else ""
    return f"{dataset.name}: {new}{revised}, {count(added.already)} already in the dataset."


@login_required
def dataset_list(request: HttpRequest) -> HttpResponse:
    datasets = datasets_with_example_count().order_by("name")
    return render(request, "datasets/list.html", {"datasets": datasets})


@login_required
def dataset_detail(request: HttpRequest, pk: int) -> HttpResponse:
    dataset = get_object_or_404(Dataset, pk=pk)
    versions = list(dataset_versions_numbered(dataset=dataset).order_by("-pk"))
    version = chosen_version(versions, request.GET.get("version"))
    context: dict = {"dataset": dataset, "versions": versions, "version": version, "exports": EXPORT_FORMATS}
    if version is not None:
        splits = list(splits_at_version(version=version).order_by("name"))
        split = chosen_split(splits, request.GET.get("split"))
        revisions = revisions_in(version, split)
        context["examples"] = Paginator(with_example_numbers(revisions), EXAMPLES_PER_PAGE).get_page(
            request.GET.get("page")
        )
        context["fine_tuning"] = openai_ft_report(revisions)
        context |= {"splits": splits, "split": split}
    return render(request, "datasets/detail.html", context)


def chosen_split(splits: list[DatasetSplit], asked: str | None) -> DatasetSplit | None:
    """The split the address asks for (by pk) among the version's, else None: every example."""
    return next((split for split in splits if str(split.pk) == asked), None)


def revisions_in(version: DatasetVersion, split: DatasetSplit | None) -> QuerySet[ExampleRevision]:
    revisions = example_revisions_at_version(version=version)
    return in_splits(revisions, [split.pk]) if split else revisions


class RandomSplitForm(forms.Form):
    """The dataset page's "split randomly" form: the share of the version's examples for train (the rest go
    to test) and the seed that makes the draw repeatable."""

    version = forms.IntegerField()
    train_percent = forms.IntegerField(min_value=1, max_value=99, label="Train %")
    seed = forms.IntegerField(min_value=-(2**63), max_value=2**63 - 1)


@login_required
@require_POST
def dataset_split_randomly_view(request: HttpRequest, pk: int) -> HttpResponse:
    """Put a version's examples in train and test at random, by a ratio and a seed."""
    if not request.user.can_write:
        raise PermissionDenied("Viewers cannot change datasets.")
    dataset = get_object_or_404(Dataset, pk=pk)
    form = RandomSplitForm(request.POST)
    if not form.is_valid():
        for name, errors in form.errors.items():
            messages.error(request, f"{form[name].label}: {' '.join(errors)}")
        return redirect("web:dataset", pk=dataset.pk)
    values = form.cleaned_data
    version = get_object_or_404(dataset_versions_numbered(dataset=dataset), pk=values["version"])
    try:
        done = dataset_split_randomly(
            version=version, ratio=values["train_percent"] / 100, seed=values["seed"], user=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    else:
        messages.success(
            request,
            f"v{version.number} split at random with seed {values['seed']}: {count(done.first_count)} in "
            f"{done.first.name}, {count(done.second_count)} in {done.second.name}.",
        )
    return redirect(f"{reverse('web:dataset', args=[dataset.pk])}?version={version.pk}")


@login_required
def dataset_export(request: HttpRequest, pk: int, export: str) -> StreamingHttpResponse:
    """One version of the dataset as a file download (the /v1 exports keep Phoenix's types and names)."""
    export_format = EXPORT_FORMATS.get(export)
    dataset = get_object_or_404(Dataset, pk=pk)
    version = chosen_version(list(dataset_versions_numbered(dataset=dataset)), request.GET.get("version"))
    if export_format is None or version is None:
        raise Http404("No such export")
    split = None
    if asked := request.GET.get("split"):
        split = chosen_split(list(splits_at_version(version=version)), asked)
        if split is None:
            raise Http404("No such split in this version")
    response = StreamingHttpResponse(
        export_format.lines(revisions_in(version, split)), content_type=export_format.content_type
    )
    filename = export_format.filename(dataset.name, version.number, split.name if split else None)
    response["Content-Disposition"] = attachment(filename)
    return response


def chosen_version(versions: list[DatasetVersion], asked: str | None) -> DatasetVersion | None:
    """The version the address asks for, else the latest; None when the dataset has none."""
    return next((v for v in versions if str(v.pk) == asked), max(versions, key=lambda v: v.pk, default=None))


def attachment(filename: str) -> str:
    """A Content-Disposition a browser saves as `filename` (RFC 6266: `filename*` for a name beyond ASCII,
    after a plain `filename` for the clients that only read that)."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_")
    header = f'attachment; filename="{fallback}"'
    return header if fallback == filename else f"{header}; filename*=UTF-8''{quote(filename)}"
