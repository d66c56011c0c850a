from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.cache import never_cache

from phoenix_annot.core.htmx import wants_partial
from phoenix_annot.tracing.models import Project

from ..selectors.sessions import session_for_review, session_list_for_review, session_neighbours
from ..selectors.spans import PAGE_SIZES
from .spans import query_without


# Never from a cache: Back after labelling a session must show its new chips.
@never_cache
@login_required
def session_list(request: HttpRequest, pk: int) -> HttpResponse:
    """The Sessions tab: filters, feedback roll-ups and one page of the project's conversations."""
    project = get_object_or_404(Project, pk=pk)
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
        "chip_base": f"?{query_without(query, 'annotation_name', 'label')}",
    }
    template = "sessions/_results.html" if wants_partial(request) else "sessions/list.html"
    return render(request, template, context)


@login_required
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """A session as a conversation, turn by turn, with its Annotate panel and j/k across the list."""
    review = session_for_review(pk=pk, user=request.user)
    list_query = request.GET.get("list", "")
    context = {
        "review": review,
        "list_query": list_query,
        "neighbours": session_neighbours(session=review.session, list_query=list_query)
        if list_query
        else None,
    }
    return render(request, "sessions/detail.html", context)
