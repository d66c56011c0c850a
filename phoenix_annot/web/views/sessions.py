from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from phoenix_annot.accounts.access import project_or_404, row_or_404, writable
from phoenix_annot.core.htmx import wants_partial
from phoenix_annot.datasets.models import Dataset
from phoenix_annot.datasets.services import SpansAdded
from phoenix_annot.datasets.sessions import dataset_add_sessions
from phoenix_annot.tracing.models import Session

from ..selectors.corrections import session_correction_history, session_corrections
from ..selectors.history import session_history
from ..selectors.sessions import (
    idle_minutes,
    matching_sessions,
    session_for_review,
    session_list_for_review,
    session_neighbours,
)
from ..selectors.spans import PAGE_SIZES
from .datasets import AddRowsForm, add_rows_to_dataset
from .spans import CHIP_FILTERS, query_without


def dataset_choices() -> QuerySet[Dataset]:
    """The datasets the Add to dataset forms offer, by name."""
    return Dataset.objects.order_by("name").values_list("pk", "name")


# Never from a cache: Back after labelling a session must show its new chips.
@never_cache
@login_required
def session_list(request: HttpRequest, pk: int) -> HttpResponse:
    """The Sessions tab: filters, feedback roll-ups and one page of the project's conversations."""
    project = project_or_404(request.user, pk)
    page = session_list_for_review(project=project, params=request.GET)
    query = request.GET.copy()
    query.pop("cursor", None)
    in_list = query.copy()
    # Never empty, so that the session page knows it was opened from a list, even an unfiltered one.
    in_list["tab"] = "sessions"
    context = {
        "page": page,
        "page_sizes": PAGE_SIZES,
        "query": query.urlencode(),
        "list_query": in_list.urlencode(),
        "chip_base": f"?{query_without(query, *CHIP_FILTERS)}",
        "datasets": dataset_choices(),
        "idle_minutes": idle_minutes(),
        "may_write": writable(project),
    }
    template = "sessions/_results.html" if wants_partial(request) else "sessions/list.html"
    return render(request, template, context)


@login_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A session as a conversation, turn by turn, with its Annotate panel and j/k across the list."""
    if request.GET.get("history"):
        session = row_or_404(request.user, Session.objects.all(), pk=pk)
        context = {
            "history": session_history(session=session),
            "correction_history": session_correction_history(session=session),
        }
        return render(request, "annotations/_history.html", context)
    review = session_for_review(pk=pk, user=request.user)
    list_query = request.GET.get("list", "")
    context = {
        "review": review,
        "list_query": list_query,
        "neighbours": session_neighbours(session=review.session, list_query=list_query)
        if list_query
        else None,
        "datasets": dataset_choices(),
        "idle_minutes": idle_minutes(),
        "history": session_history(session=review.session),
        "may_write": writable(review.session),
        **session_corrections(session=review.session, turns=review.turns, user=request.user),
    }
    return render(request, "sessions/detail.html", context)


class AddSessionsForm(AddRowsForm):
    rows_field = "session"
    session = forms.MultipleChoiceField(required=False, choices=[])


@login_required
@require_POST
def dataset_add_sessions_view(request: HttpRequest) -> HttpResponse:
    """Add the selected sessions, or every session matching the Sessions tab's filters, to a dataset: one
    chat example each, as one version (a session already there is revised)."""

    def add(dataset: Dataset, values: dict[str, Any]) -> SpansAdded:
        params = QueryDict(values["filter_query"] or "")
        sessions = matching_sessions(project=values["project"], params=params)
        if not values["all_matching"]:
            sessions = sessions.filter(session_id__in=values["session"])
        return dataset_add_sessions(
            dataset=dataset,
            sessions=sessions,
            user=request.user,
            split_name=values["split_name"],
            from_gold=values["from_gold"],
        )

    return add_rows_to_dataset(request, AddSessionsForm, add)
