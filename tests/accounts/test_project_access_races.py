"""Members' exporters naming the same new project at once: the one whose request created it becomes its
member, the others are refused as for any project not theirs (PostgreSQL only: SQLite has one writer)."""

import pytest
from django.db import connection

from phoenix_annot.accounts.models import ProjectMembership, User
from phoenix_annot.ingest.otlp import decode_request
from phoenix_annot.ingest.services import IngestRefused, spans_ingest
from phoenix_annot.tracing.models import Span
from tests.accounts.factories import ProjectMembershipFactory
from tests.concurrency.test_races import THREADS, race
from tests.ingest.builders import export_request, otlp_span

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs concurrent writers"),
]


def test_members_spans_naming_one_new_project_at_once_make_only_its_creator_a_member():
    writers = [ProjectMembershipFactory(user__role=User.Role.ANNOTATOR).user for _ in range(THREADS)]
    requests = [
        export_request(
            otlp_span(trace_id=i + 1, span_id=i + 1), resource={"openinference.project.name": "new"}
        )
        for i in range(THREADS)
    ]

    errors = race(lambda i: spans_ingest(records=decode_request(requests[i]), writer=writers[i]))

    creator = ProjectMembership.objects.get(project__name="new").user
    assert len(errors) == THREADS - 1 and all(isinstance(error, IngestRefused) for error in errors)
    assert list(Span.objects.values_list("span_id", flat=True)) == [f"{writers.index(creator) + 1:016x}"]
