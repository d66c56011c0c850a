from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render
from django.views.decorators.cache import never_cache

from phoenix_annot.accounts.access import project_or_404, writable
from phoenix_annot.core.htmx import wants_partial
from phoenix_annot.core.responses import plain_text_response
from phoenix_annot.datasets.models import Dataset
from phoenix_annot.filtering.timeout import FilterTimeout, filter_time_limit

from ..selectors.spans import PAGE_SIZES, span_list_for_review

# The filters a feedback chip sets: a chip's link drops the ones the list has before adding its own.
CHIP_FILTERS = ("annotation_name", "label", "label_not", "score_min", "score_max")


# Never from a cache: Back after "Add to dataset" must show the new dataset and no stale selection.
@never_cache
@login_required
def span_list(request: HttpRequest, pk: int, tab: str = "spans") -> HttpResponse:
    """The review table: filters, feedback roll-ups, one page of spans (or of traces) and the selection."""
    project = project_or_404(request.user, pk)
    try:
        with filter_time_limit():
            page = span_list_for_review(project=project, params=request.GET, user=request.user, tab=tab)
    except FilterTimeout as exc:
        return plain_text_response(422, str(exc))
    query = request.GET.copy()
    query.pop("cursor", None)
    sorted_by = query.copy()
    for name in ("sort", "dir"):
        sorted_by.pop(name, None)
    in_list = query.copy()
    in_list["tab"] = tab
    context = {
        "page": page,
        "page_sizes": PAGE_SIZES,
        "query": query.urlencode(),
        "query_unsorted": sorted_by.urlencode(),
        "list_query": in_list.urlencode(),
        "chip_base": f"?{query_without(query, *CHIP_FILTERS)}",
        "datasets": Dataset.objects.order_by("name").values_list("pk", "name"),
        "may_write": writable(project),
    }
    template = "spans/_results.html" if wants_partial(request) else "spans/list.html"
    return render(request, template, context)


def query_without(query: QueryDict, *names: str) -> str:
    """The query string minus some parameters, ready for more to be appended."""
    trimmed = query.copy()
    for name in names:
        trimmed.pop(name, None)
    encoded = trimmed.urlencode()
    return f"{encoded}&" if encoded else ""
