from typing import Any

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from phoenix_annot.accounts.access import visible_projects
from phoenix_annot.accounts.services import member_project_create
from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.tracing.models import Project
from phoenix_annot.tracing.services import (
    DefaultProjectDeletion,
    DuplicateProjectName,
    project_delete,
    project_update,
)

from ..auth import ADMIN_ONLY, AdminOnlyWrites, V1Access
from ..errors import PlainError
from ..lookups import project_for
from ..params import paginate_desc, query_int
from ..schema import (
    PROJECT_NOT_FOUND,
    PROJECT_PATH,
    cursor_param,
    data_envelope,
    errors,
    limit_param,
    page_envelope,
    query,
)
from ..wire import envelope, page, validated

MAX_PAGE_SIZE = 1000


def project_data(project: Project) -> dict[str, Any]:
    return {
        "name": project.name,
        "description": project.description or None,
        "id": to_global_id("Project", project.pk),
    }


class ProjectOut(serializers.Serializer):
    name = serializers.CharField()
    description = serializers.CharField(allow_null=True)
    id = serializers.CharField(help_text="Project GlobalID")


ProjectEnvelope = data_envelope("ProjectResponse", ProjectOut())


class ProjectCreateInput(serializers.Serializer):
    name = serializers.CharField(min_length=1, max_length=255)
    description = serializers.CharField(allow_null=True, allow_blank=True, required=False, default=None)


class ProjectUpdateInput(serializers.Serializer):
    description = serializers.CharField(allow_null=True, allow_blank=True)


class ProjectListView(APIView):
    @extend_schema(
        operation_id="getProjects",
        summary="List projects, newest first",
        parameters=[
            cursor_param("Project"),
            limit_param(default=100, maximum=MAX_PAGE_SIZE),
            query("name_contains", str, "Only projects whose name contains this, ignoring case."),
        ],
        responses={
            200: page_envelope("ProjectPage", ProjectOut(many=True)),
            **errors({422: "`Invalid cursor format: <cursor>`"}),
        },
    )
    def get(self, request: Request) -> Response:
        projects = visible_projects(request.user)
        if name_contains := request.query_params.get("name_contains"):
            projects = projects.filter(name__icontains=name_contains)
        rows, next_cursor = paginate_desc(
            projects,
            request=request,
            type_name="Project",
            limit=query_int(request, "limit", default=100, maximum=MAX_PAGE_SIZE),
        )
        return Response(page([project_data(p) for p in rows], next_cursor))

    @extend_schema(
        operation_id="createProject",
        summary="Create a project",
        request=ProjectCreateInput,
        responses={200: ProjectEnvelope, **errors({409: "A project with this name already exists."})},
    )
    def post(self, request: Request) -> Response:
        values = validated(ProjectCreateInput, request.data)
        try:
            project = member_project_create(
                creator=request.user, name=values["name"], description=values["description"] or ""
            )
        except DuplicateProjectName as exc:
            raise PlainError(409, exc.message_dict["name"][0]) from None
        return Response(envelope(project_data(project)))


class ProjectDetailView(APIView):
    permission_classes = [V1Access, AdminOnlyWrites]

    @extend_schema(
        operation_id="getProject",
        summary="Read a project",
        parameters=[PROJECT_PATH],
        responses={200: ProjectEnvelope, **errors({404: PROJECT_NOT_FOUND}, validation=False)},
    )
    def get(self, request: Request, identifier: str) -> Response:
        return Response(envelope(project_data(project_for(request, identifier))))

    @extend_schema(
        operation_id="updateProject",
        summary="Change a project's description (admins only when auth is on)",
        parameters=[PROJECT_PATH],
        request=ProjectUpdateInput,
        responses={200: ProjectEnvelope, **errors({403: ADMIN_ONLY, 404: PROJECT_NOT_FOUND})},
    )
    def put(self, request: Request, identifier: str) -> Response:
        project = project_for(request, identifier)
        values = validated(ProjectUpdateInput, request.data)
        if values["description"] is not None:
            project = project_update(project=project, description=values["description"])
        return Response(envelope(project_data(project)))

    @extend_schema(
        operation_id="deleteProject",
        summary="Delete a project with its traces (admins only when auth is on)",
        parameters=[PROJECT_PATH],
        responses={
            204: None,
            **errors(
                {
                    403: f"`{ADMIN_ONLY}` or `The default project cannot be deleted`",
                    404: PROJECT_NOT_FOUND,
                },
                validation=False,
            ),
        },
    )
    def delete(self, request: Request, identifier: str) -> Response:
        try:
            project_delete(project=project_for(request, identifier))
        except DefaultProjectDeletion as exc:
            raise PlainError(403, exc.message) from None
        return Response(status=204)
