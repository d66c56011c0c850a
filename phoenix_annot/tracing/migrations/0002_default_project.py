from django.db import migrations


def create_default_project(apps, schema_editor):
    Project = apps.get_model("tracing", "Project")
    Project.objects.get_or_create(name="default", defaults={"description": "Default project"})


class Migration(migrations.Migration):
    dependencies = [("tracing", "0001_initial")]

    operations = [migrations.RunPython(create_default_project, migrations.RunPython.noop)]
