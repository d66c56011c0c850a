"""Forms more than one page posts."""

from typing import Any

from django import forms
from django.core.exceptions import ValidationError

from phoenix_annot.tracing.models import Project


class SelectedRowsForm(forms.Form):
    """The rows a table's selection bar posts: the ticked ones (span ids, or session ids on the Sessions
    tab) or, with `all_matching`, every row of the list's filter (`filter_query`), in `project`."""

    project = forms.ModelChoiceField(queryset=Project.objects.all())
    all_matching = forms.BooleanField(required=False)
    filter_query = forms.CharField(required=False)
    span = forms.MultipleChoiceField(required=False, choices=[])
    session = forms.MultipleChoiceField(required=False, choices=[])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Checked against the project by the query that selects them, not against a list of choices.
        for name in ("span", "session"):
            self.fields[name].valid_value = lambda value: True

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if not cleaned.get("all_matching") and not (cleaned.get("span") or cleaned.get("session")):
            raise ValidationError("Select at least one row.")
        return cleaned
