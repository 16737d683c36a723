"""Many numbers at once: the dry-run plan, CSV in and out, and jobs run on the task queue."""
