from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from phoenix_annot.accounts.access import row_or_404, writable
from phoenix_annot.core.htmx import wants_partial
from phoenix_annot.core.numbers import ascii_int
from phoenix_annot.filtering.timeout import FilterTimeout, filter_time_limit
from phoenix_annot.tracing.models import Span

from ..selectors.configs import configs_by_name
from ..selectors.corrections import trace_correction_history, trace_corrections
from ..selectors.history import span_history
from ..selectors.traces import documents_review, trace_for_review, trace_neighbours, trace_tree_page
from ..span_display import span_display


@login_required
def trace_detail(request: HttpRequest, trace_id: str) -> HttpResponse:
    """The span tree and the selected span; selecting another span swaps the trace body only."""
    if request.GET.get("history"):
        span = row_or_404(
            request.user, Span.objects.select_related("trace"), span_id=request.GET.get("span", "")
        )
        context = {
            "history": span_history(trace=span.trace, span=span),
            "correction_history": trace_correction_history(trace=span.trace, span=span),
        }
        return render(request, "annotations/_history.html", context)
    review = trace_for_review(trace_id=trace_id, span_id=request.GET.get("span"), user=request.user)
    list_query = request.GET.get("list", "")
    display = span_display(review.selected)
    context = {
        "review": review,
        "display": display,
        "list_query": list_query,
        "documents": documents_review(
            review.selected,
            documents=display.documents,
            user=request.user,
            configs=review.span_panel.configs,
        )
        if display.documents
        else None,
        "history": span_history(trace=review.trace, span=review.selected),
        "may_write": writable(review.trace),
        **trace_corrections(trace=review.trace, span=review.selected, user=request.user),
    }
    if wants_partial(request):
        return render(request, "traces/_span_detail.html", context)
    if list_query:
        try:
            with filter_time_limit():
                context["neighbours"] = trace_neighbours(
                    review=review, list_query=list_query, user=request.user
                )
        except FilterTimeout as exc:
            context["neighbours_error"] = str(exc)
    return render(request, "traces/detail.html", context)


@login_required
def trace_tree(request: HttpRequest, trace_id: str) -> HttpResponse:
    """Another page of the span tree, to append below the one shown (or put above it, `direction=up`)."""
    page = ascii_int(request.GET.get("page", "")) or 0
    context = {
        "tree": trace_tree_page(trace_id=trace_id, page=page, user=request.user),
        "configs_by_name": configs_by_name(),
        "list_query": request.GET.get("list", ""),
        "direction": request.GET.get("direction"),
    }
    return render(request, "traces/_tree_rows.html", context)


@login_required
def span_redirect(request: HttpRequest, span_id: str) -> HttpResponse:
    """A span's permanent address: its trace page with the span selected."""
    span = row_or_404(request.user, Span.objects.select_related("trace"), span_id=span_id)
    return redirect(f"{reverse('web:trace', args=[span.trace.trace_id])}?span={span.span_id}")
