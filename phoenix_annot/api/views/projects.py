from typing import Any

from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from phoenix_annot.core.globalid import to_global_id
from phoenix_annot.tracing.models import Project
from phoenix_annot.tracing.services import (
    DefaultProjectDeletion,
    DuplicateProjectName,
    project_create,
    project_delete,
    project_update,
)

from ..auth import AdminOnlyWrites
from ..errors import PlainError
from ..lookups import project_from_identifier
from ..params import paginate_desc, query_int
from ..wire import envelope, page, validated


def project_data(project: Project) -> dict[str, Any]:
    return {
        "name": project.name,
        "description": project.description or None,
        "id": to_global_id("Project", project.pk),
    }


class ProjectCreateInput(serializers.Serializer):
    name = serializers.CharField(min_length=1, max_length=255)
    description = serializers.CharField(allow_null=True, allow_blank=True, required=False, default=None)


class ProjectUpdateInput(serializers.Serializer):
    description = serializers.CharField(allow_null=True, allow_blank=True)


class ProjectListView(APIView):
    def get(self, request: Request) -> Response:
        projects = Project.objects.all()
        if name_contains := request.query_params.get("name_contains"):
            projects = projects.filter(name__icontains=name_contains)
        rows, next_cursor = paginate_desc(
            projects,
            request=request,
            type_name="Project",
            limit=query_int(request, "limit", default=100, maximum=1000),
        )
        return Response(page([project_data(p) for p in rows], next_cursor))

    def post(self, request: Request) -> Response:
        values = validated(ProjectCreateInput, request.data)
        try:
            project = project_create(name=values["name"], description=values["description"] or "")
        except DuplicateProjectName as exc:
            raise PlainError(409, exc.message_dict["name"][0]) from None
        return Response(envelope(project_data(project)))


class ProjectDetailView(APIView):
    permission_classes = [AdminOnlyWrites]

    def get(self, request: Request, identifier: str) -> Response:
        return Response(envelope(project_data(project_from_identifier(identifier))))

    def put(self, request: Request, identifier: str) -> Response:
        project = project_from_identifier(identifier)
        values = validated(ProjectUpdateInput, request.data)
        if values["description"] is not None:
            project = project_update(project=project, description=values["description"])
        return Response(envelope(project_data(project)))

    def delete(self, request: Request, identifier: str) -> Response:
        try:
            project_delete(project=project_from_identifier(identifier))
        except DefaultProjectDeletion as exc:
            raise PlainError(403, exc.message) from None
        return Response(status=204)
