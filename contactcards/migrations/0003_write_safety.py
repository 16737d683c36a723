from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("contactcards", "0002_audit_history")]
    operations = []
