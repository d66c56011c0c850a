from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache

from phoenix_annot.core.responses import plain_text_response
from phoenix_annot.filtering.timeout import FilterTimeout, filter_time_limit
from phoenix_annot.tracing.models import Project

from ..selectors.agreement import agreement_for_review, disagreements_for_review


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


def _render(
    request: HttpRequest, pk: int, selector: Callable[..., Any], template: str, **context: Any
) -> HttpResponse:
    """The project's page the selector reads under the filter time limit, as the Spans tab does."""
    project = get_object_or_404(Project, pk=pk)
    try:
        with filter_time_limit():
            page = selector(project=project, params=request.GET, user=request.user)
    except FilterTimeout as exc:
        return plain_text_response(422, str(exc))
    return render(request, template, {"page": page, "choice": page.choice, **context})
