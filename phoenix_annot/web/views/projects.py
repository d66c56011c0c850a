from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from ..selectors.projects import project_list_for_review


@login_required
def project_list(request: HttpRequest) -> HttpResponse:
    return render(request, "projects/list.html", {"rows": project_list_for_review(user=request.user)})
