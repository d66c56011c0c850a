from typing import Any

from django.db.models import Q


def keyset_after(field: str, value: Any, pk: int, *, descending: bool, inclusive: bool = False) -> Q:
    """Rows after (value, pk) in ORDER BY field, pk (both descending or both ascending).

    Written as a plain range on `field` minus the tied rows already seen, rather than
    `field < v OR (field = v AND pk < p)`: the range lets an index on (…, field, pk) start at the cursor,
    which the OR form keeps PostgreSQL from doing.
    """
    if descending:
        seen = {f"{field}": value, "pk__gt" if inclusive else "pk__gte": pk}
        return Q(**{f"{field}__lte": value}) & ~Q(**seen)
    seen = {f"{field}": value, "pk__lt" if inclusive else "pk__lte": pk}
    return Q(**{f"{field}__gte": value}) & ~Q(**seen)
