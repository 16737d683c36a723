"""Rollout throughput: the open items of a job, and the form tokens by age, each found through an index."""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('contactcards', '0019_number_labels_action'),
    ]

    operations = [
        migrations.AddIndex(
            model_name='formtoken',
            index=models.Index(fields=['used_at'], name='formtoken_used_at'),
        ),
        migrations.AddIndex(
            model_name='jobitem',
            index=models.Index(condition=models.Q(('state__in', ['queued', 'waiting', 'running'])), fields=['job'], name='jobitem_job_open'),
        ),
    ]
