from collections.abc import Iterable

from django.db.models import Model

from phoenix_annot.core.batching import chunks


def rows_lock(model: type[Model], pks: Iterable[int]) -> None:
    """Lock these rows until the transaction ends, in pk order so that writers locking overlapping sets
    cannot deadlock. Annotation writers lock the spans, traces or sessions they write to: a row of a key
    another writer is about to create cannot be locked itself."""
    for chunk in chunks(sorted(set(pks))):
        list(model.objects.select_for_update().filter(pk__in=chunk).order_by("pk").values_list("pk"))
