import json
from collections.abc import Callable
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote, urlencode

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

from phoenix_annot.accounts.access import require_writer, visible_projects
from phoenix_annot.datasets.exports import EXPORT_FORMATS, openai_ft_report, with_gold
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
    StaleExample,
    dataset_add_spans,
    dataset_create,
    dataset_example_delete,
    dataset_example_patch,
    dataset_split_randomly,
)
from phoenix_annot.datasets.sessions import SessionsAdded
from phoenix_annot.tracing.models import Project

from ..example_display import example_display
from ..selectors.datasets import ExampleAtLatest, example_at_latest
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
    from_gold = forms.BooleanField(required=False, help_text="Put the rows' gold labels in the examples.")

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
            dataset=dataset,
            spans=spans,
            user=request.user,
            split_name=values["split_name"],
            from_gold=values["from_gold"],
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
    form.fields["project"].queryset = visible_projects(request.user)
    if not form.is_valid():
        # Field errors by label only when there is no form-wide one (which has no field, nor label).
        for error in form.non_field_errors() or [
            f"{form[name].label}: {' '.join(errors)}" for name, errors in form.errors.items()
        ]:
            messages.error(request, error)
        return redirect(request.headers.get("Referer") or reverse("web:projects"))
    values = form.cleaned_data
    require_writer(values["project"], "Viewers cannot change datasets.")
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
    context: dict = {
        "dataset": dataset,
        "versions": versions,
        "version": version,
        "exports": EXPORT_FORMATS,
        "gold_only": request.GET.get("gold") == "only",
    }
    if version is not None:
        splits = list(splits_at_version(version=version).order_by("name"))
        split = chosen_split(splits, request.GET.get("split"))
        revisions = gold_only(request, revisions_in(version, split))
        examples = Paginator(with_example_numbers(revisions), EXAMPLES_PER_PAGE).get_page(
            request.GET.get("page")
        )
        context["examples"] = examples
        context["rows"] = [example_display(revision) for revision in examples]
        context["fine_tuning"] = openai_ft_report(revisions)
        context |= {"splits": splits, "split": split, "latest": versions[0]}
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


class ExampleChangeForm(forms.Form):
    """What the edit and delete pages post beside the change: the revision the writer read (an edit over a
    newer one is refused), an optional description of the version the change makes, and the dataset page
    (split and page) to go back to."""

    based_on = forms.IntegerField(widget=forms.HiddenInput)
    description = forms.CharField(
        max_length=1000,
        required=False,
        label="Version description",
        help_text="Optional: why it changed. Shown beside the new version in the Version list.",
    )
    split = forms.IntegerField(required=False, widget=forms.HiddenInput)
    page = forms.IntegerField(required=False, min_value=1, widget=forms.HiddenInput)

    @classmethod
    def initial_for(cls, revision: ExampleRevision, params: QueryDict) -> dict[str, Any]:
        return {"based_on": revision.pk, **where_from(params)}


def where_from(params: QueryDict) -> dict[str, str]:
    """The split and page of the dataset page a writer came from (numbers only: they go into a URL)."""
    return {key: params[key] for key in ("split", "page") if params.get(key, "").isdigit()}


def dataset_page_url(dataset: Dataset, example_pk: int, params: QueryDict) -> str:
    """The dataset page at its latest version, on the split and page the writer came from, at the example."""
    back = where_from(params)
    query = f"?{urlencode(back)}" if back else ""
    return f"{reverse('web:dataset', args=[dataset.pk])}{query}#example-{example_pk}"


ChangeForm = TypeVar("ChangeForm", bound=ExampleChangeForm)


class ExampleEditForm(ExampleChangeForm):
    """An example's input, output and metadata as JSON text, as Phoenix's Edit Example form takes them."""

    JSON_FIELDS = ("input", "output", "metadata")

    input = forms.CharField(widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}), strip=False)
    output = forms.CharField(widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false"}), strip=False)
    metadata = forms.CharField(widget=forms.Textarea(attrs={"rows": 8, "spellcheck": "false"}), strip=False)
    field_order = [*JSON_FIELDS, "description"]

    @classmethod
    def initial_for(cls, revision: ExampleRevision, params: QueryDict) -> dict[str, Any]:
        content = {
            name: json.dumps(getattr(revision, name), indent=2, ensure_ascii=False)
            for name in cls.JSON_FIELDS
        }
        return super().initial_for(revision, params) | content

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        for name in self.JSON_FIELDS:
            if name in cleaned:
                try:
                    cleaned[name] = json.loads(cleaned[name])
                except json.JSONDecodeError as exc:
                    where = f"line {exc.lineno}, column {exc.colno}"
                    self.add_error(name, f"{self[name].label} is not valid JSON: {exc.msg} ({where}).")
        return cleaned


def example_change(
    request: HttpRequest, pk: int, example_pk: int, form_class: type[ChangeForm]
) -> tuple[Dataset, ExampleAtLatest, ChangeForm]:
    """Writers only: the dataset, its example at the latest version, and the form (bound when posted)."""
    if not request.user.can_write:
        raise PermissionDenied("Viewers cannot change datasets.")
    dataset = get_object_or_404(Dataset, pk=pk)
    current = example_at_latest(dataset=dataset, example_pk=example_pk)
    data = request.POST if request.method == "POST" else None
    return dataset, current, form_class(data, initial=form_class.initial_for(current.revision, request.GET))


@login_required
def dataset_example_edit(request: HttpRequest, pk: int, example_pk: int) -> HttpResponse:
    """Edit an example of the latest version: saving makes the next version, unless nothing changed."""
    dataset, current, form = example_change(request, pk, example_pk, ExampleEditForm)
    revision = current.revision
    if form.is_valid():
        values = form.cleaned_data
        try:
            version = dataset_example_patch(
                example=revision.example,
                input=values["input"],
                output=values["output"],
                metadata=values["metadata"],
                user=request.user,
                description=values["description"],
                based_on=values["based_on"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            name = f"Example {count(revision.example_number)}"
            if version is None:
                messages.info(request, f"{name} is unchanged: no new version.")
            else:
                messages.success(request, f"{name} saved in {version_label(version)}.")
            return redirect(dataset_page_url(dataset, example_pk, request.POST))
    return example_page(request, "datasets/example_edit.html", form, dataset, current)


@login_required
def dataset_example_delete_view(request: HttpRequest, pk: int, example_pk: int) -> HttpResponse:
    """Confirm (GET), then delete (POST) an example of the latest version: the next version leaves it out."""
    dataset, current, form = example_change(request, pk, example_pk, ExampleChangeForm)
    if form.is_valid():
        try:
            version = dataset_example_delete(
                example=current.revision.example,
                user=request.user,
                description=form.cleaned_data["description"],
                based_on=form.cleaned_data["based_on"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(
                request,
                f"Example {count(current.revision.example_number)} deleted in {version_label(version)}.",
            )
            return redirect(dataset_page_url(dataset, example_pk, request.POST))
    return example_page(request, "datasets/example_delete.html", form, dataset, current)


def example_page(
    request: HttpRequest, template: str, form: forms.Form, dataset: Dataset, current: ExampleAtLatest
) -> HttpResponse:
    """The edit or delete page; refused input answers 400, an example changed since it was read 409."""
    stale = any(isinstance(error, StaleExample) for error in form.non_field_errors().as_data())
    status = 409 if stale else 400 if form.errors else 200
    context = {
        "form": form,
        "dataset": dataset,
        "latest": current.latest,
        "revision": current.revision,
        "row": example_display(current.revision),
        "back": dataset_page_url(dataset, current.revision.example_id, request.POST or request.GET),
    }
    return render(request, template, context, status=status)


def version_label(version: DatasetVersion) -> str:
    """ "v7": the version's number in its dataset."""
    return f"v{DatasetVersion.objects.filter(dataset_id=version.dataset_id, pk__lte=version.pk).count()}"


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
        export_format.lines(gold_only(request, revisions_in(version, split))),
        content_type=export_format.content_type,
    )
    filename = export_format.filename(dataset.name, version.number, split.name if split else None)
    response["Content-Disposition"] = attachment(filename)
    return response


def gold_only(request: HttpRequest, revisions: QuerySet[ExampleRevision]) -> QuerySet[ExampleRevision]:
    """`?gold=only`: the examples with a gold value, on the page and in its downloads."""
    return with_gold(revisions) if request.GET.get("gold") == "only" else revisions


def chosen_version(versions: list[DatasetVersion], asked: str | None) -> DatasetVersion | None:
    """The version the address asks for, else the latest; None when the dataset has none."""
    return next((v for v in versions if str(v.pk) == asked), max(versions, key=lambda v: v.pk, default=None))


def attachment(filename: str) -> str:
    """A Content-Disposition a browser saves as `filename` (RFC 6266: `filename*` for a name beyond ASCII,
    after a plain `filename` for the clients that only read that)."""
    fallback = filename.encode("ascii", "replace").decode().replace("?", "_")
    header = f'attachment; filename="{fallback}"'
    return header if fallback == filename else f"{header}; filename*=UTF-8''{quote(filename)}"
