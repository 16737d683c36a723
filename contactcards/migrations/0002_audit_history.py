from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [("contactcards", "0001_initial")]
    operations = []
