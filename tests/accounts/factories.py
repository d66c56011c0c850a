import factory

from phoenix_annot.accounts.models import ProjectMembership
from tests.factories import ProjectFactory, UserFactory


class ProjectMembershipFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ProjectMembership

    project = factory.SubFactory(ProjectFactory)
    user = factory.SubFactory(UserFactory)
    role = ProjectMembership.Role.ANNOTATOR
