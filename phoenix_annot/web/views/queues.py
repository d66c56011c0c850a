"""Review queue pages: a project's queues, a queue's settings, the review page and the overview.

The writes are the queues app's services, as /v1/annotation_queues calls them; these views parse forms and
render.
"""

import csv
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404, HttpRequest, HttpResponse, QueryDict, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from phoenix_annot.accounts.access import (
    project_or_404,
    require_writer,
    row_or_404,
    visible_projects,
    writable,
)
from phoenix_annot.accounts.models import User
from phoenix_annot.annotations.models import AnnotationSource
from phoenix_annot.core.htmx import wants_partial
from phoenix_annot.filtering.spans import SpanFilter
from phoenix_annot.queues.models import (
    MAX_RESERVATION_SECONDS,
    MAX_REVIEWERS_PER_ITEM,
    AnnotationQueue,
    Assignment,
    ItemKind,
    ItemState,
    QueueConfig,
    QueueItem,
    QueueReservation,
    QueueRule,
)
from phoenix_annot.queues.rules import (
    queue_rule_create,
    queue_rule_delete,
    queue_rule_update,
    span_filter_data,
)
from phoenix_annot.queues.services import (
    ItemsAdded,
    QueueConfigChoice,
    ReviewAnnotation,
    ReviewRefused,
    annotation_queue_create,
    annotation_queue_delete,
    annotation_queue_update,
    queue_item_next,
    queue_item_skip,
    queue_item_submit,
    queue_items_add_matching,
)
from phoenix_annot.tracing.models import Project, Span

from ..forms import SelectedRowsForm
from ..selectors.queues import (
    EXPORT_FIELDS,
    project_config_choices,
    queue_configs,
    queue_export_rows,
    queue_overview,
    queue_progress,
    queue_tab_choices,
    queues_of_project,
    review_item,
)
from ..selectors.sessions import matching_sessions
from ..selectors.spans import matching_spans
from ..templatetags.display import count


@login_required
def queue_list(request: HttpRequest, pk: int) -> HttpResponse:
    """The Queues tab: the project's queues with their progress, and a link to create one."""
    project = project_or_404(request.user, pk)
    context = {
        "project": project,
        "queues": queues_of_project(project.pk),
        "tab": "queues",
        "may_write": writable(project),
    }
    return render(request, "queues/list.html", context)


class QueueForm(forms.Form):
    """A queue's settings: `configs` are the project's configs to fill, `required` those a submit needs."""

    name = forms.CharField(max_length=255)
    instructions = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 6}),
        required=False,
        help_text="Shown beside every item. Markdown: lists, headings, **bold**, *emphasis*, `code`, links.",
    )
    configs = forms.ModelMultipleChoiceField(
        queryset=QueueConfig.objects.none(), widget=forms.CheckboxSelectMultiple, label="Annotations to fill"
    )
    required = forms.ModelMultipleChoiceField(
        queryset=QueueConfig.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Required",
        help_text="Every submit must fill these.",
    )
    reviewers_per_item = forms.IntegerField(
        min_value=1, max_value=MAX_REVIEWERS_PER_ITEM, initial=1, label="Reviewers per item (N)"
    )
    assignment = forms.ChoiceField(
        choices=[
            (Assignment.ALL_ANNOTATORS, "Every annotator of the project"),
            (Assignment.NAMED_REVIEWERS, "Only the reviewers named below (and admins)"),
        ],
        initial=Assignment.ALL_ANNOTATORS,
        widget=forms.RadioSelect,
        label="Who reviews",
    )
    reviewers = forms.ModelMultipleChoiceField(
        queryset=User.objects.exclude(role=User.Role.VIEWER).order_by("username"),
        widget=forms.CheckboxSelectMultiple,
        required=False,
        label="Named reviewers",
    )
    reservation_minutes = forms.IntegerField(
        min_value=1,
        max_value=MAX_RESERVATION_SECONDS // 60,
        initial=15,
        label="Reservation timeout (minutes)",
        help_text="A served item goes back to the pool after this long unless submitted or skipped.",
    )
    blind = forms.BooleanField(
        required=False, help_text="Reviewers do not see each other's labels on an item until they submit."
    )

    def __init__(self, *args: Any, project: Project, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = project_config_choices(project.pk)
        self.fields["configs"].queryset = choices
        self.fields["required"].queryset = choices

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        extra = set(cleaned.get("required") or []) - set(cleaned.get("configs") or [])
        if extra:
            names = ", ".join(sorted(config.name for config in extra))
            self.add_error("required", f"Required but not among the annotations to fill: {names}.")
        return cleaned

    def queue_fields(self) -> dict[str, Any]:
        values = self.cleaned_data
        required = set(values["required"])
        return {
            "name": values["name"],
            "instructions": values["instructions"],
            "reviewers_per_item": values["reviewers_per_item"],
            "assignment": values["assignment"],
            "reviewers": list(values["reviewers"]),
            "reservation_timeout_seconds": values["reservation_minutes"] * 60,
            "blind": values["blind"],
            "configs": [QueueConfigChoice(config=c, required=c in required) for c in values["configs"]],
        }


def queue_initial(queue: AnnotationQueue) -> dict[str, Any]:
    choices = queue_configs(queue)
    return {
        "name": queue.name,
        "instructions": queue.instructions,
        "configs": [choice.annotation_config for choice in choices],
        "required": [choice.annotation_config for choice in choices if choice.required],
        "reviewers_per_item": queue.reviewers_per_item,
        "assignment": queue.assignment,
        "reviewers": list(queue.reviewers.all()),
        "reservation_minutes": queue.reservation_timeout_seconds // 60,
        "blind": queue.blind,
    }


@login_required
def queue_new(request: HttpRequest, pk: int) -> HttpResponse:
    project = project_or_404(request.user, pk)
    require_writer(project, "Viewers cannot create queues.")
    return queue_form_page(request, project, None)


@login_required
def queue_edit(request: HttpRequest, pk: int) -> HttpResponse:
    queue = changeable_queue(request, pk)
    return queue_form_page(request, queue.project, queue)


def changeable_queue(request: HttpRequest, pk: int) -> AnnotationQueue:
    """The queue, when the user may change it (its creator, or an admin, who may write to its project): as
    the API decides."""
    queue = row_or_404(request.user, AnnotationQueue.objects.select_related("project"), pk=pk)
    require_writer(queue, "Viewers cannot change queues.")
    if not queue.changeable_by(request.user):
        raise PermissionDenied("Only the queue's creator or an admin may change or delete it.")
    return queue


def queue_form_page(request: HttpRequest, project: Project, queue: AnnotationQueue | None) -> HttpResponse:
    """The create or edit form; a valid post saves through the queue services and goes to the queue."""
    if request.method == "POST":
        form = QueueForm(request.POST, project=project)
        if form.is_valid():
            try:
                if queue is None:
                    queue = annotation_queue_create(
                        project_id=project.pk, user=request.user, **form.queue_fields()
                    )
                else:
                    queue = annotation_queue_update(queue=queue, **form.queue_fields())
            except ValidationError as exc:
                for name, errors in exc.message_dict.items():
                    form.add_error(name if name in form.fields else None, errors)
            else:
                messages.success(request, f"Queue “{queue.name}” saved.")
                return redirect("web:queue", pk=queue.pk)
    else:
        form = QueueForm(initial=queue_initial(queue) if queue else None, project=project)
    context = {"project": project, "queue": queue, "form": form, "tab": "queues"}
    return render(request, "queues/edit.html", context, status=400 if form.errors else 200)


@login_required
@require_POST
def queue_delete(request: HttpRequest, pk: int) -> HttpResponse:
    queue = changeable_queue(request, pk)
    annotation_queue_delete(queue=queue)
    messages.success(request, f"Queue “{queue.name}” deleted; the labels its reviewers wrote stay.")
    return redirect("web:queues", pk=queue.project_id)


@never_cache
@login_required
def queue_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """The overview: items by state with counts and a page of them, throughput per reviewer, exports."""
    queue = row_or_404(request.user, AnnotationQueue.objects.select_related("project", "user"), pk=pk)
    query = request.GET.copy()
    query.pop("cursor", None)
    context = {
        "overview": queue_overview(queue, params=request.GET),
        "instructions": markdown_subset(queue.instructions),
        "project": queue.project,
        "state": request.GET.get("state", ""),
        "states": ItemState.choices,
        "query": query.urlencode(),
        "may_change": writable(queue) and queue.changeable_by(request.user),
        "may_write": writable(queue),
        "rules": rule_rows(queue),
    }
    return render(request, "queues/detail.html", context)


@dataclass(frozen=True)
class RuleRow:
    rule: QueueRule
    conditions: list[str]
    query: str


def rule_rows(queue: AnnotationQueue) -> list[RuleRow]:
    """The queue's rules, each filter as readable conditions and as the Spans tab's query string."""
    rows = []
    for rule in QueueRule.objects.filter(queue=queue).select_related("user"):
        data = span_filter_data(rule.filter)
        conditions = [f"{name} = {', '.join(values)}" for name, values in data.lists()]
        rows.append(RuleRow(rule, conditions, data.urlencode()))
    return rows


EXPORTS = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


@login_required
def queue_export(request: HttpRequest, pk: int, export: str) -> StreamingHttpResponse:
    """The queue's items with their reviews and the reviewers' labels, streamed as CSV or JSON lines."""
    queue = row_or_404(request.user, AnnotationQueue.objects.all(), pk=pk)
    if export not in EXPORTS:
        raise Http404(f"No export '{export}': csv or jsonl.")
    rows = queue_export_rows(queue)
    lines = csv_lines(rows) if export == "csv" else (json.dumps(row) + "\n" for row in rows)
    response = StreamingHttpResponse(lines, content_type=EXPORTS[export])
    response["Content-Disposition"] = f'attachment; filename="queue-{queue.pk}.{export}"'
    return response


def csv_lines(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    """CSV, one line per row: the labels as one JSON column, since each queue has its own configs."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    for index, row in enumerate(rows):
        if index == 0:
            writer.writerow([*EXPORT_FIELDS, "labels"])
        writer.writerow([*(row[name] for name in EXPORT_FIELDS), json.dumps(row["labels"])])
        yield buffer.getvalue()
        buffer.seek(0)
        buffer.truncate()


# Instructions are Markdown. No sanitizing Markdown renderer is among the dependencies, so the pages render a
# safe subset: the text is escaped first, then paragraphs, line breaks, lists, headings, **bold**, *emphasis*,
# `code` and http(s) links are marked up on the escaped text, so no tag of the author's survives.
INLINE_MARKUP = [
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*(.+?)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])"), r"<em>\1</em>"),
    (re.compile(r"\[([^\]]+)\]\((https?://[^\s)]+)\)"), r'<a href="\2" rel="noopener noreferrer">\1</a>'),
]
LIST_ITEM = re.compile(r"^\s*(?:[-*+]|(\d+)[.)])\s+")
HEADING = re.compile(r"^(#{1,3})\s+")


def markdown_subset(text: str) -> SafeString:
    """Instructions as HTML: the safe subset of Markdown above, anything else as the text it is."""
    blocks = []
    for block in re.split(r"\n\s*\n", escape(text.strip())):
        lines = [line for line in block.splitlines() if line.strip()]
        if not lines:
            continue
        if all(LIST_ITEM.match(line) for line in lines):
            tag = "ol" if LIST_ITEM.match(lines[0]).group(1) else "ul"
            items = "".join(f"<li>{inline_markup(LIST_ITEM.sub('', line, count=1))}</li>" for line in lines)
            blocks.append(f"<{tag}>{items}</{tag}>")
        elif len(lines) == 1 and (heading := HEADING.match(lines[0])):
            level = len(heading.group(1)) + 2
            blocks.append(f"<h{level}>{inline_markup(HEADING.sub('', lines[0], count=1))}</h{level}>")
        else:
            blocks.append(f"<p>{'<br>'.join(inline_markup(line) for line in lines)}</p>")
    # Safe: every character of the author's text went through escape() above; only the patterns add tags.
    return mark_safe("".join(blocks))


def inline_markup(line: str) -> str:
    for pattern, replacement in INLINE_MARKUP:
        line = pattern.sub(replacement, line)
    return line


# The review page.


@never_cache
@login_required
def queue_review(request: HttpRequest, pk: int) -> HttpResponse:
    """The reviewer's next item, reserved for them (the one they hold, if they hold one)."""
    queue = reviewed_queue(request, pk)
    return review_response(request, queue, queue_item_next(queue=queue, reviewer=request.user))


@dataclass(frozen=True)
class ConfigField:
    """One config of the review form: its fields' names, what was posted in them, and why it was refused."""

    choice: QueueConfig
    label_field: str
    score_field: str
    explanation_field: str
    label: str
    score: str
    explanation: str
    errors: list[str]


def config_fields(
    configs: list[QueueConfig], posted: QueryDict, errors: dict[str, list[str]]
) -> list[ConfigField]:
    fields = []
    for choice in configs:
        names = [field_name(choice, part) for part in ("label", "score", "explanation")]
        fields.append(
            ConfigField(
                choice,
                *names,
                *(posted.get(name, "") for name in names),
                errors=errors.get(choice.annotation_config.name, []),
            )
        )
    return fields


def review_response(
    request: HttpRequest,
    queue: AnnotationQueue,
    reservation: QueueReservation | None,
    *,
    item_pk: int | None = None,
    errors: dict[str, list[str]] | None = None,
    posted: QueryDict | None = None,
    notice: str = "",
    status: int = 200,
) -> HttpResponse:
    """The review page (or its main area, for htmx): `item_pk`, else the reserved item, else the end."""
    errors = errors or {}
    item_pk = item_pk or (reservation.item_id if reservation else None)
    context = {
        "queue": queue,
        "fields": config_fields(queue_configs(queue), posted or QueryDict(), errors),
        "instructions": markdown_subset(queue.instructions),
        "reservation": reservation,
        "review": review_item(item_pk, queue=queue, reviewer=request.user) if item_pk else None,
        "progress": queue_progress(queue, reviewer=request.user),
        "errors": [message for messages_ in errors.values() for message in messages_],
        "notice": notice,
    }
    template = "queues/_review.html" if wants_partial(request) else "queues/review.html"
    return render(request, template, context, status=status)


def field_name(choice: QueueConfig, part: str) -> str:
    """The review form's field for one part (label, score, explanation) of one config."""
    return f"config-{choice.annotation_config_id}-{part}"


def review_annotations(
    data: QueryDict, configs: list[QueueConfig]
) -> tuple[list[ReviewAnnotation], dict[str, list[str]]]:
    """The labels the review form fills, in the queue's order; and the configs whose score is not a number."""
    annotations: list[ReviewAnnotation] = []
    errors: dict[str, list[str]] = {}
    for choice in configs:
        config = choice.annotation_config
        label = data.get(field_name(choice, "label"), "").strip() or None
        explanation = data.get(field_name(choice, "explanation"), "").strip() or None
        score_text = data.get(field_name(choice, "score"), "").strip()
        score = None
        if score_text:
            try:
                score = float(score_text)
            except ValueError:
                errors[config.name] = [f"{config.name}: the score must be a number, not '{score_text}'."]
                continue
        score = config.score_for(label, score)
        if label is not None or score is not None:
            annotations.append(
                ReviewAnnotation(name=config.name, label=label, score=score, explanation=explanation)
            )
    return annotations, errors


def refusal_by_config(exc: ValidationError, annotations: list[ReviewAnnotation]) -> dict[str, list[str]]:
    """The service's errors (`data[i].field`, or `data` for what is missing) by the config they concern;
    each message starts with the config's name."""
    errors: dict[str, list[str]] = {}
    for key, problems in exc.message_dict.items():
        name = ""
        if key.startswith("data["):
            name = annotations[int(key[5 : key.index("]")])].name
        errors.setdefault(name, []).extend(f"{name}: {problem}" if name else problem for problem in problems)
    return errors


def reviewed_queue(request: HttpRequest, pk: int) -> AnnotationQueue:
    """The queue to review, of a project the user may see (else a 404) and write to."""
    queue = row_or_404(request.user, AnnotationQueue.objects.select_related("project"), pk=pk)
    require_writer(queue, "Viewers cannot review.")
    return queue


def reviewed_item(request: HttpRequest, pk: int, item_pk: int) -> tuple[AnnotationQueue, QueueItem]:
    queue = reviewed_queue(request, pk)
    item = get_object_or_404(QueueItem.objects.select_related("queue"), pk=item_pk, queue=queue)
    return queue, item


def after_review(
    request: HttpRequest, queue: AnnotationQueue, reservation: QueueReservation | None, notice: str
) -> HttpResponse:
    """The next item at once: in place for htmx, else by the review page's address (so Reload serves it)."""
    if wants_partial(request):
        return review_response(request, queue, reservation, notice=notice)
    messages.info(request, notice)
    return redirect("web:queue-review", pk=queue.pk)


@login_required
@require_POST
def queue_submit(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """Write the reviewer's labels of the item and serve the next one; a refused label writes nothing and
    shows the item again with the reason, naming the config."""
    queue, item = reviewed_item(request, pk, item_pk)
    annotations, errors = review_annotations(request.POST, queue_configs(queue))
    try:
        if errors:
            raise ValidationError(errors)
        submitted = queue_item_submit(
            item=item, reviewer=request.user, annotations=annotations, source=AnnotationSource.APP
        )
    except ValidationError as exc:
        errors = errors or refusal_by_config(exc, annotations)
        # The same item again, whether or not the reviewer's reservation of it has lapsed meanwhile.
        held = QueueReservation.objects.filter(queue=queue, reviewer=request.user, item=item).first()
        return review_response(
            request, queue, held, item_pk=item.pk, errors=errors, posted=request.POST, status=400
        )
    except ReviewRefused as exc:
        return after_review(request, queue, queue_item_next(queue=queue, reviewer=request.user), str(exc))
    return after_review(request, queue, submitted.next, "Submitted.")


@login_required
@require_POST
def queue_skip(request: HttpRequest, pk: int, item_pk: int) -> HttpResponse:
    """Pass on the item, with the reason given if any, and serve the next one."""
    queue, item = reviewed_item(request, pk, item_pk)
    try:
        reservation = queue_item_skip(item=item, reviewer=request.user, reason=request.POST.get("reason", ""))
    except ReviewRefused as exc:
        return after_review(request, queue, queue_item_next(queue=queue, reviewer=request.user), str(exc))
    return after_review(request, queue, reservation, "Skipped.")


# Adding rows from the Spans, Traces and Sessions tables.


class QueueOfProjectForm(forms.Form):
    """A queue of the project a table lists, and the table's filter."""

    project = forms.ModelChoiceField(queryset=Project.objects.all())
    queue = forms.ModelChoiceField(
        queryset=AnnotationQueue.objects.all(), error_messages={"required": "Choose a queue."}
    )
    filter_query = forms.CharField(required=False)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        queue, project = cleaned.get("queue"), cleaned.get("project")
        if queue and project and queue.project_id != project.pk:
            raise ValidationError("That queue belongs to another project.")
        return cleaned


class AddToQueueForm(SelectedRowsForm, QueueOfProjectForm):
    """The selection bar's "Add to queue": its rows and the queue."""


# Each table's rows as a queue's items: the Spans tab adds spans, the Traces tab traces (its rows are their
# root spans), the Sessions tab sessions.
TAB_KINDS = {"spans": ItemKind.SPAN, "traces": ItemKind.TRACE, "sessions": ItemKind.SESSION}


@login_required
@require_POST
def queue_add_rows(request: HttpRequest, tab: str) -> HttpResponse:
    """Add the ticked rows of a table, or all rows matching its filter (on the server), to a queue."""
    if tab not in TAB_KINDS:
        raise Http404(f"No table '{tab}'.")
    if not request.user.can_write:
        raise PermissionDenied("Viewers cannot add items to queues.")
    back = request.headers.get("Referer") or reverse("web:projects")
    form = AddToQueueForm(request.POST)
    form.fields["project"].queryset = visible_projects(request.user)
    if not form.is_valid():
        form_errors_shown(request, form)
        return redirect(back)
    values = form.cleaned_data
    require_writer(values["project"], "Viewers cannot add items to queues.")
    queue = values["queue"]
    added = queue_items_add_matching(
        queue=queue, spans=table_spans(request, tab, values), kind=TAB_KINDS[tab], user=request.user
    )
    messages.add_message(
        request, messages.SUCCESS if added.added else messages.INFO, added_message(queue, added)
    )
    return redirect(back)


def form_errors_shown(request: HttpRequest, form: forms.Form) -> None:
    """The form's errors as messages for the page the post goes back to, each naming its field."""
    for error in form.non_field_errors() or [
        f"{form[name].label}: {' '.join(errors)}" for name, errors in form.errors.items()
    ]:
        messages.error(request, error)


def table_spans(request: HttpRequest, tab: str, values: dict[str, Any]) -> Any:
    """The spans whose items the rows make: the rows' own spans, or the spans of the rows' sessions."""
    params = QueryDict(values["filter_query"] or "")
    if tab == "sessions":
        sessions = matching_sessions(project=values["project"], params=params)
        if not values["all_matching"]:
            sessions = sessions.filter(session_id__in=values["session"])
        return Span.objects.filter(trace__session__in=sessions.values("pk"))
    if values["all_matching"]:
        return matching_spans(project=values["project"], params=params, user=request.user, tab=tab)
    # The rows named, as named: the Traces tab's filter keeps root spans only, and a trace page names the
    # trace's first span, which is no root while the root has not arrived. span_targets keeps the project's.
    return Span.objects.filter(span_id__in=values["span"])


def added_message(queue: AnnotationQueue, added: ItemsAdded) -> str:
    return (
        f"{queue.name}: {count(added.added)} item{pluralize(added.added)} added, "
        f"{count(added.already)} already in the queue."
    )


@login_required
def queue_choices(request: HttpRequest, pk: int) -> HttpResponse:
    """The options of the selection bar's queue list, fetched when the bar is shown (the tables' own queries
    stay as they are)."""
    project = project_or_404(request.user, pk)
    return render(request, "queues/_choices.html", {"queues": queue_tab_choices(project.pk)})


# Rules: a table's filter saved for a queue (queues/rules.py).


class AddRuleForm(QueueOfProjectForm):
    """The selection bar's "Add a rule from this filter": the list's filter, the queue, a sample."""

    sampling_percent = forms.IntegerField(min_value=1, max_value=100, required=False, label="Sample")


def rule_filter(filter_query: str, tab: str) -> dict[str, str | list[str]]:
    """A list's filter as a rule's: its SpanFilter parameters that have a value (not its page, sort or size),
    one value as a string, several as a list; the Traces tab lists root spans."""
    params = QueryDict(filter_query)
    rule: dict[str, str | list[str]] = {}
    for name in SpanFilter.base_filters:
        values = [value for value in params.getlist(name) if value.strip()]
        if values:
            rule[name] = values[0] if len(values) == 1 else values
    if tab == "traces":
        rule["root"] = "true"
    return rule


RULE_KINDS = {"spans": ItemKind.SPAN, "traces": ItemKind.TRACE}


@login_required
@require_POST
def queue_rule_add(request: HttpRequest, tab: str) -> HttpResponse:
    """Save the Spans or Traces tab's filter as a rule of the queue chosen: its matching rows are added now,
    and those ingested later as they arrive."""
    if tab not in RULE_KINDS:
        raise Http404(f"No rule from table '{tab}'.")
    back = request.headers.get("Referer") or reverse("web:projects")
    form = AddRuleForm(request.POST)
    form.fields["project"].queryset = visible_projects(request.user)
    if not form.is_valid():
        form_errors_shown(request, form)
        return redirect(back)
    values = form.cleaned_data
    queue = values["queue"]
    if not queue.changeable_by(request.user):
        raise PermissionDenied("Only the queue's creator or an admin may add rules to it.")
    try:
        saved = queue_rule_create(
            queue=queue,
            user=request.user,
            kind=RULE_KINDS[tab],
            filter=rule_filter(values["filter_query"], tab),
            sampling_percent=values["sampling_percent"],
        )
    except ValidationError as exc:
        rule_refusal_shown(request, exc)
        return redirect(back)
    messages.success(request, f"Rule saved. {added_message(queue, saved.backfill)}")
    return redirect("web:queue", pk=queue.pk)


class RuleChangeForm(forms.Form):
    enabled = forms.BooleanField(required=False)
    sampling_percent = forms.IntegerField(min_value=1, max_value=100, required=False, label="Sample")


def rule_refusal_shown(request: HttpRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, f"The rule was not saved: {message}")


def changeable_rule(request: HttpRequest, pk: int, rule_pk: int) -> QueueRule:
    queue = changeable_queue(request, pk)
    rule = get_object_or_404(QueueRule, pk=rule_pk, queue=queue)
    rule.queue = queue
    return rule


@login_required
@require_POST
def queue_rule_change(request: HttpRequest, pk: int, rule_pk: int) -> HttpResponse:
    """Enable or disable a rule, or change its sample; an enabled rule adds what it matches now."""
    rule = changeable_rule(request, pk, rule_pk)
    form = RuleChangeForm(request.POST)
    if not form.is_valid():
        form_errors_shown(request, form)
        return redirect("web:queue", pk=pk)
    try:
        saved = queue_rule_update(rule=rule, **form.cleaned_data)
    except ValidationError as exc:
        rule_refusal_shown(request, exc)
        return redirect("web:queue", pk=pk)
    if saved.backfill is None:
        messages.info(request, "Rule disabled: it adds nothing until it is enabled again.")
    else:
        messages.success(request, f"Rule saved. {added_message(rule.queue, saved.backfill)}")
    return redirect("web:queue", pk=pk)


@login_required
@require_POST
def queue_rule_remove(request: HttpRequest, pk: int, rule_pk: int) -> HttpResponse:
    queue_rule_delete(rule=changeable_rule(request, pk, rule_pk))
    messages.success(request, "Rule deleted; the items it added stay in the queue.")
    return redirect("web:queue", pk=pk)
