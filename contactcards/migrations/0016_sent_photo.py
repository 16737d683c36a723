"""Issue 21: the photo link sent to each number last, and what Linq made of it (``photos.models.SentPhoto``),
so a link is not sent again while Linq still shows the image it made of it."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contactcards', '0015_webhook_refusal_codes'),
    ]

    operations = [
        migrations.CreateModel(
            name='SentPhoto',
            fields=[
                ('number', models.OneToOneField(on_delete=django.db.models.deletion.CASCADE, primary_key=True, related_name='sent_photo', serialize=False, to='contactcards.phonenumber')),
                ('url', models.CharField(max_length=2000)),
                ('linq_url', models.CharField(blank=True, max_length=2000)),
                ('replaced', models.CharField(blank=True, max_length=2000)),
                ('sent_at', models.DateTimeField(help_text='When the write that sent it was stored (newest wins).')),
                ('recorded_at', models.DateTimeField(help_text='When we learned that the write took effect.')),
                ('entry', models.ForeignKey(blank=True, db_constraint=False, null=True, on_delete=django.db.models.deletion.SET_NULL, related_name='+', to='contactcards.auditentry')),
            ],
        ),
    ]
