import pytest
from django.test import Client

from phoenix_annot.accounts.models import ApiKey
from phoenix_annot.accounts.services import user_for_api_key
from phoenix_annot.annotations.models import AnnotationConfig
from tests.factories import AnnotationConfigFactory, ProjectFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client() -> Client:
    client = Client()
    client.force_login(UserFactory(role="ADMIN"))
    return client


class TestAnnotationConfigs:
    def test_only_admins_reach_the_config_pages(self, reviewer_client: Client, admin_client: Client):
        assert reviewer_client.get("/configs/").status_code == 403
        assert reviewer_client.post("/configs/new/", {"name": "x"}).status_code == 403
        assert admin_client.get("/configs/").status_code == 200

    def test_an_admin_creates_a_categorical_config_and_assigns_it(self, admin_client: Client):
        project = ProjectFactory(name="support")

        response = admin_client.post(
            "/configs/new/",
            {
                "name": "correctness",
                "type": "CATEGORICAL",
                "optimization_direction": "MAXIMIZE",
                "values": "correct = 1\nincorrect = 0\n",
                "projects": [project.pk],
            },
        )

        assert response.status_code == 302
        config = AnnotationConfig.objects.get(name="correctness")
        assert config.values == [{"label": "correct", "score": 1.0}, {"label": "incorrect", "score": 0.0}]
        assert list(config.projects.all()) == [project]

    def test_an_admin_edits_bounds_and_unassigns(self, admin_client: Client):
        project = ProjectFactory()
        config = AnnotationConfigFactory(name="relevance", type="CONTINUOUS", values=[])
        config.projects.add(project)

        admin_client.post(
            f"/configs/{config.pk}/",
            {
                "name": "relevance",
                "type": "CONTINUOUS",
                "optimization_direction": "MAXIMIZE",
                "lower_bound": "0",
                "upper_bound": "5",
            },
        )

        config.refresh_from_db()
        assert (config.lower_bound, config.upper_bound) == (0.0, 5.0)
        assert not config.projects.exists()

    @pytest.mark.parametrize(
        ("values", "message"),
        [
            ({"name": "note"}, "reserved for trace and span notes"),
            ({"values": ""}, "Values must be non-empty"),
            ({"values": "a = high"}, "Line 1: the score after"),
            ({"values": "a\na"}, "Labels must be unique"),
        ],
    )
    def test_bad_configs_show_the_reason_on_the_form(self, admin_client: Client, values, message):
        data = {
            "name": "q",
            "type": "CATEGORICAL",
            "optimization_direction": "NONE",
            "values": "a\nb",
            **values,
        }

        response = admin_client.post("/configs/new/", data)

        assert response.status_code == 200
        assert message in response.content.decode()
        assert not AnnotationConfig.objects.filter(name=data["name"]).exists()


class TestApiKeys:
    def test_a_new_key_is_shown_once_and_works(self, reviewer_client: Client, reviewer):
        created = reviewer_client.post("/settings/api-keys/", {"name": "laptop"}).content.decode()
        listed = reviewer_client.get("/settings/api-keys/").content.decode()

        key = ApiKey.objects.get(user=reviewer)
        raw = created.split('<div class="card" id="new-key"')[1].split("<pre>")[1].split("</pre>")[0]
        assert user_for_api_key(raw) == reviewer
        assert raw not in listed
        assert key.prefix in listed

    def test_a_key_is_revoked_by_its_owner_only(self, reviewer_client: Client, reviewer):
        reviewer_client.post("/settings/api-keys/", {"name": "laptop"})
        key = ApiKey.objects.get(user=reviewer)
        stranger = Client()
        stranger.force_login(UserFactory())

        assert stranger.post(f"/settings/api-keys/{key.pk}/revoke/").status_code == 404
        reviewer_client.post(f"/settings/api-keys/{key.pk}/revoke/")

        key.refresh_from_db()
        assert key.revoked_at is not None
