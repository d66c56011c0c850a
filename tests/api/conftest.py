from dataclasses import dataclass

import pytest
from django.test import Client

from phoenix_annot.accounts.services import api_key_create
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.datasets.services import dataset_upload
from phoenix_annot.tracing.models import Project, Session, Span, Trace
from tests.factories import (
    AnnotationConfigFactory,
    SessionFactory,
    SpanAnnotationFactory,
    SpanFactory,
    TraceAnnotationFactory,
    UserFactory,
)


class V1Client(Client):
    """A test client that sends JSON bodies by default."""

    def post(self, path, data=None, content_type="application/json", **extra):
        return super().post(path, data, content_type=content_type, **extra)

    def put(self, path, data=None, content_type="application/json", **extra):
        return super().put(path, data, content_type=content_type, **extra)


@pytest.fixture
def api(db, v1_auth_off) -> V1Client:
    return V1Client()


def client_for_role(role: str) -> V1Client:
    _key, raw = api_key_create(user=UserFactory(role=role), name=f"{role} key")
    return V1Client(HTTP_AUTHORIZATION=f"Bearer {raw}")


@pytest.fixture
def keyed_client(db, settings):
    settings.V1_AUTH_REQUIRED = True
    return client_for_role


@dataclass(frozen=True)
class World:
    """One of everything a /v1 route can name, in project `p`."""

    project: Project
    span: Span
    trace: Trace
    config_gid: str
    dataset_gid: str
    version_gid: str
    session: Session


@pytest.fixture
def world(db) -> World:
    session = SessionFactory(project__name="p", session_id="conversation")
    span = SpanFactory(trace__project=session.project, trace__session=session)
    SpanAnnotationFactory(span=span)
    TraceAnnotationFactory(trace=span.trace)
    config = AnnotationConfigFactory(name="correctness")
    upload = dataset_upload(
        action="create",
        name="qa",
        description=None,
        inputs=[{"messages": [{"role": "user", "content": "Hi"}]}],
        outputs=[{"messages": [{"role": "assistant", "content": "Hello"}]}],
        user=None,
    )
    return World(
        project=span.project,
        span=span,
        trace=span.trace,
        config_gid=to_global_id("CategoricalAnnotationConfig", config.pk),
        dataset_gid=to_global_id("Dataset", upload.dataset.pk),
        version_gid=to_global_id("DatasetVersion", upload.version.pk),
        session=session,
    )
