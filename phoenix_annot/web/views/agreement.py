from collections.abc import Callable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Model
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import pluralize
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from phoenix_annot.accounts.access import may_adjudicate, may_write, project_or_404
from phoenix_annot.agreement.gold import Promotion, gold_promote_agreeing, gold_set
from phoenix_annot.agreement.ratings import Target
from phoenix_annot.core.responses import plain_text_response
from phoenix_annot.filtering.timeout import FilterTimeout, filter_time_limit
from phoenix_annot.queues.models import AnnotationQueue
from phoenix_annot.queues.services import queue_items_add_matching
from phoenix_annot.tracing.models import Project, Session, Span, Trace

from ..selectors.agreement import (
    agreement_choice,
    agreement_for_review,
    disagreements_for_review,
    gold_cell,
    judge_alignment_for_review,
)
from ..templatetags.display import count

# From the rows a disagreement is on to the spans a queue's items are made from (queues.services).
SPANS_OF = {Target.SPAN: "pk__in", Target.TRACE: "trace__in", Target.SESSION: "trace__session__in"}
ROW_MODELS: dict[Target, type[Model]] = {Target.SPAN: Span, Target.TRACE: Trace, Target.SESSION: Session}


# Never from a cache: Back after labelling a row must show the new figures.
@never_cache
@login_required
def agreement(request: HttpRequest, pk: int) -> HttpResponse:
    """Agreement between the raters of one annotation name over the rows a tab's filters keep."""
    return _render(request, pk, agreement_for_review, "agreement/page.html")


@never_cache
@login_required
def disagreements(request: HttpRequest, pk: int) -> HttpResponse:
    """The rows whose raters differ, furthest apart first, with each rater's value and explanation."""
    query = request.GET.copy()
    query.pop("page", None)
    page_query = f"{query.urlencode()}&" if query else ""
    return _render(
        request, pk, disagreements_for_review, "agreement/disagreements.html", page_query=page_query
    )


@never_cache
@login_required
def judge_alignment(request: HttpRequest, pk: int) -> HttpResponse:
    """An LLM or CODE annotator's labels against the humans' (gold, else their majority)."""
    return _render(request, pk, judge_alignment_for_review, "agreement/alignment.html")


@login_required
@require_POST
def gold_set_row(request: HttpRequest, pk: int) -> HttpResponse:
    """Set one row's gold value from the disagreements; answers the row's gold cell (htmx)."""
    project = _adjudicated(request, pk)
    choice, _rows = agreement_choice(project=project, params=request.POST, user=request.user)
    if choice.level is None:
        return plain_text_response(422, "annotation: choose a name rated for agreement")
    row = get_object_or_404(ROW_MODELS[choice.target], pk=request.POST.get("row"), project=project)
    # A new label typed in wins over the one chosen from the raters' (the form offers both without a config).
    label = request.POST.get("gold_new_label", "").strip() or request.POST.get("gold_label") or None
    try:
        score = float(request.POST["gold_score"]) if request.POST.get("gold_score") else None
        gold_set(
            target=choice.target,
            row=row,
            name=choice.name,
            label=label,
            score=score,
            reason=request.POST.get("reason", ""),
            user=request.user,
        )
    except ValueError:
        return plain_text_response(422, "gold_score: must be a number")
    except ValidationError as exc:
        return plain_text_response(422, _said(exc))
    query = choice.query(None, choice.level)
    cell = gold_cell(project=project, query=query, pk=row.pk)
    return render(request, "agreement/_gold.html", {"cell": cell, "choice": choice, "adjudicator": True})


@login_required
def gold_promote(request: HttpRequest, pk: int) -> HttpResponse:
    """How many rows without gold have all their raters agreeing (GET), and their promotion (POST)."""
    project = _adjudicated(request, pk)
    params = request.POST if request.method == "POST" else request.GET
    choice, rows = agreement_choice(project=project, params=params, user=request.user)
    if rows is None or choice.level is None:
        return plain_text_response(422, "annotation: choose a name rated for agreement, and a valid filter")
    try:
        threshold = int(params.get("threshold", ""))
    except ValueError:
        return plain_text_response(422, "threshold: must be a whole number of raters, 2 or more")
    promotion = Promotion(project, choice.query(rows, choice.level), threshold)
    context: dict[str, Any] = {"choice": choice, "threshold": threshold, "params": params}
    try:
        if request.method == "POST":
            context["promoted"] = gold_promote_agreeing(promotion=promotion, user=request.user)
        elif threshold < 2:
            raise ValidationError({"threshold": "At least 2 raters must agree to promote a row to gold."})
        else:
            context["count"] = promotion.count()
    except ValidationError as exc:
        return plain_text_response(422, _said(exc))
    return render(request, "agreement/_promote.html", context)


@login_required
@require_POST
def disagreements_to_queue(request: HttpRequest, pk: int) -> HttpResponse:
    """Send every disagreeing row of the chosen name under the tab's filter to one of the project's
    queues, on the server; back to the disagreements with how many were added."""
    project = project_or_404(request.user, pk)
    if not may_write(request.user, project):
        raise PermissionDenied("Viewers cannot add items to queues.")
    queue = AnnotationQueue.objects.filter(project=project, pk=request.POST.get("queue") or None).first()
    choice, rows = agreement_choice(project=project, params=request.POST, user=request.user)
    back = f"{reverse('web:disagreements', args=[pk])}?{_page_query(request)}"
    if queue is None:
        messages.error(request, "Queue: choose one of the project's queues.")
    elif rows is None or choice.level is None:
        messages.error(request, "Annotation: choose a name rated for agreement, and a valid filter.")
    else:
        disagreeing = choice.query(rows, choice.level).disagreeing_pks()
        spans = Span.objects.filter(**{SPANS_OF[choice.target]: disagreeing})
        added = queue_items_add_matching(
            queue=queue, spans=spans, kind=choice.target.value, user=request.user
        )
        messages.success(
            request,
            f"{queue.name}: {count(added.added)} row{pluralize(added.added)} added, "
            f"{count(added.already)} already in the queue.",
        )
    return redirect(back)


def _adjudicated(request: HttpRequest, pk: int) -> Project:
    """The project, if the user may set gold values on its rows."""
    project = project_or_404(request.user, pk)
    if not may_adjudicate(request.user, project):
        raise PermissionDenied("Only the project's adjudicators set gold values.")
    return project


def _said(exc: ValidationError) -> str:
    return "; ".join(f"{field}: {' '.join(texts)}" for field, texts in exc.message_dict.items())


def _page_query(request: HttpRequest) -> str:
    """The disagreements page's own query string, from the form that posted back to it."""
    query = request.POST.copy()
    for own in ("csrfmiddlewaretoken", "queue"):
        query.pop(own, None)
    return query.urlencode()


def _render(
    request: HttpRequest, pk: int, selector: Callable[..., Any], template: str, **context: Any
) -> HttpResponse:
    """The project's page the selector reads under the filter time limit, as the Spans tab does."""
    project = project_or_404(request.user, pk)
    try:
        with filter_time_limit():
            page = selector(project=project, params=request.GET, user=request.user)
    except FilterTimeout as exc:
        return plain_text_response(422, str(exc))
    return render(request, template, {"page": page, "choice": page.choice, **context})
