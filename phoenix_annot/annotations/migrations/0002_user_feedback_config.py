from django.db import migrations


def create_user_feedback_config(apps, schema_editor):
    AnnotationConfig = apps.get_model("annotations", "AnnotationConfig")
    AnnotationConfig.objects.get_or_create(
        name="user_feedback",
        defaults={
            "type": "CATEGORICAL",
            "description": "User feedback labels for traces.",
            "optimization_direction": "MAXIMIZE",
            "values": [{"label": "positive", "score": 1.0}, {"label": "negative", "score": 0.0}],
        },
    )


class Migration(migrations.Migration):
    dependencies = [("annotations", "0001_initial")]

    operations = [migrations.RunPython(create_user_feedback_config, migrations.RunPython.noop)]
