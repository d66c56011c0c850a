"""A user's own API keys: create (the key is shown once, in the response to the POST), list, revoke."""

from datetime import timedelta

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from phoenix_annot.accounts.models import ApiKey
from phoenix_annot.accounts.services import api_key_create, api_key_revoke


class ApiKeyForm(forms.Form):
    name = forms.CharField(max_length=200)
    expires_in_days = forms.IntegerField(
        min_value=1, max_value=3650, required=False, help_text="Leave empty for a key that does not expire."
    )


@login_required
def api_keys(request: HttpRequest) -> HttpResponse:
    raw_key = None
    form = ApiKeyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        days = form.cleaned_data["expires_in_days"]
        expires_at = timezone.now() + timedelta(days=days) if days else None
        _key, raw_key = api_key_create(
            user=request.user, name=form.cleaned_data["name"], expires_at=expires_at
        )
        form = ApiKeyForm()
    keys = ApiKey.objects.filter(user=request.user).order_by("-created_at")
    return render(request, "accounts/api_keys.html", {"form": form, "keys": keys, "raw_key": raw_key})


@login_required
@require_POST
def api_key_revoke_view(request: HttpRequest, pk: int) -> HttpResponse:
    api_key = get_object_or_404(ApiKey, pk=pk, user=request.user)
    api_key_revoke(api_key=api_key)
    messages.success(request, f"Revoked {api_key.name}; it stops working at once.")
    return redirect("web:api-keys")
