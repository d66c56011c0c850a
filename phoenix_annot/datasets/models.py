from django.conf import settings
from django.db import models

from phoenix_annot.accounts.models import User
from phoenix_annot.core.models import TimeStampedModel
from phoenix_annot.tracing.models import Session, Span


class CreatorDeletable(TimeStampedModel):
    """A uniquely named thing that whoever created it, and admins, may delete."""

    name = models.CharField(max_length=255, unique=True)
    description = models.TextField(blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="Who created it (page, API or upload); they and admins may delete it. Empty when it was "
        "created without a user.",
    )

    class Meta:
        abstract = True
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def deletable_by(self, user: User) -> bool:
        return user.is_admin or (self.user_id is not None and self.user_id == user.pk)


class Dataset(CreatorDeletable):
    pass


class DatasetVersion(models.Model):
    """Every change to a dataset's examples makes one version; examples are read "as of" a version."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="versions")
    description = models.TextField(blank=True, default="")
    metadata = models.JSONField(default=dict, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["dataset", "-id"], name="dataset_version_latest_idx")]

    def __str__(self) -> str:
        return f"{self.dataset} v{self.pk}"


class DatasetExample(models.Model):
    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="examples")
    span = models.ForeignKey(
        Span,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dataset_examples",
        help_text="The span this example was made from, while it exists.",
    )
    session = models.ForeignKey(
        Session,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="dataset_examples",
        help_text="The session (a conversation) this chat example was made from, while it exists.",
    )
    external_id = models.CharField(
        max_length=255,
        null=True,
        blank=True,
        help_text="Stable id supplied by an uploader, unique per dataset.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["dataset", "external_id"], name="dataset_example_unique_external_id"
            ),
            # A span is added to a dataset once; adding it again revises the same example.
            models.UniqueConstraint(
                fields=["dataset", "span"],
                condition=models.Q(span__isnull=False),
                name="dataset_example_unique_span",
            ),
            # Likewise a session: adding it again revises its example.
            models.UniqueConstraint(
                fields=["dataset", "session"],
                condition=models.Q(session__isnull=False),
                name="dataset_example_unique_session",
            ),
        ]

    def __str__(self) -> str:
        return f"example {self.pk} of {self.dataset_id}"


class RevisionKind(models.TextChoices):
    CREATE = "CREATE"
    PATCH = "PATCH"
    DELETE = "DELETE"


class ExampleRevision(models.Model):
    example = models.ForeignKey(DatasetExample, on_delete=models.CASCADE, related_name="revisions")
    version = models.ForeignKey(DatasetVersion, on_delete=models.CASCADE, related_name="revisions")
    input = models.JSONField(default=dict)
    output = models.JSONField(default=dict)
    metadata = models.JSONField(default=dict, blank=True)
    revision_kind = models.CharField(max_length=8, choices=RevisionKind.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["example", "version"], name="example_revision_unique_per_version"
            ),
            models.CheckConstraint(
                condition=models.Q(revision_kind__in=RevisionKind.values), name="example_revision_kind_valid"
            ),
        ]
        indexes = [models.Index(fields=["version", "example"], name="example_revision_version_idx")]

    def __str__(self) -> str:
        return f"{self.revision_kind} of example {self.example_id} at version {self.version_id}"


class DatasetSplit(CreatorDeletable):
    """A named subset of examples ("train", "test"). As in Phoenix, the name is global: every dataset
    using "train" shares one split, and an example's membership is not versioned (README, Datasets)."""

    UPLOAD_COLOR = "#808080"
    DEFAULT_COLOR = "#33c5e8"

    color = models.CharField(max_length=255, default=DEFAULT_COLOR, help_text="#rrggbb")
    examples = models.ManyToManyField(
        DatasetExample, through="DatasetSplitExample", related_name="splits", blank=True
    )


class DatasetSplitExample(models.Model):
    split = models.ForeignKey(DatasetSplit, on_delete=models.CASCADE, related_name="memberships")
    example = models.ForeignKey(DatasetExample, on_delete=models.CASCADE, related_name="split_memberships")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["split", "example"], name="dataset_split_example_unique"),
        ]
        # The unique constraint's index serves "the split's examples"; this one serves "the example's splits".
        indexes = [models.Index(fields=["example", "split"], name="split_example_by_example_idx")]

    def __str__(self) -> str:
        return f"example {self.example_id} in {self.split_id}"
