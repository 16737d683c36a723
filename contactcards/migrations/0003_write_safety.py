"""Write safety: one-time form tokens, and whether an unknown-outcome write took effect."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [("contactcards", "0002_audit_history")]

    operations = [
        migrations.AddField(
            model_name="auditentry",
            name="applied",
            field=models.BooleanField(blank=True, null=True),
        ),
        migrations.CreateModel(
            name="FormToken",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                ("token", models.CharField(max_length=64, unique=True)),
                ("used_at", models.DateTimeField(auto_now_add=True)),
                ("entry", models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.SET_NULL,
                                            related_name="+", to="contactcards.auditentry")),
                ("number", models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name="+",
                                             to="contactcards.phonenumber")),
            ],
        ),
    ]
