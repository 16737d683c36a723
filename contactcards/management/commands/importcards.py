"""`manage.py importcards SLUG FILE [--dry-run] [--user NAME]`: the CSV import of the web page, from a shell."""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from contactcards.management.teams import team_from_slug
from contactcards.models import Job, Membership, Role
from contactcards.rollout import jobs
from contactcards.rollout.cards_csv import MAX_BYTES, parse_cards_csv
from contactcards.rollout.plan import build_plan


class Command(BaseCommand):
    help = ("Preview a cards CSV (the columns of the dashboard's export) and, unless --dry-run, queue the changes "
            "as a job that the task workers (`manage.py db_worker`) send. Nothing is sent while any row is refused, "
            "unless --skip-refused: then the other rows are sent and the refused ones recorded on the job as skipped.")

    def add_arguments(self, parser):
        parser.add_argument("slug", help="the team's slug")
        parser.add_argument("file", help="the CSV file")
        parser.add_argument("--dry-run", action="store_true", help="only print the preview")
        parser.add_argument("--user", help="the owner the job is recorded for (default: the team's first owner)")
        parser.add_argument("--skip-refused", action="store_true",
                            help="send the rows that can be done and skip the refused ones (listed on the job)")

    def handle(self, slug, file, dry_run=False, user=None, skip_refused=False, **options):
        team = team_from_slug(slug)
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")
        if path.stat().st_size > MAX_BYTES:
            raise CommandError(f"The file is larger than {MAX_BYTES // (1024 * 1024)} MB; split it.")
        parsed = parse_cards_csv(path.read_bytes())
        if not parsed.ok:
            raise CommandError(" ".join(parsed.problems) + " Nothing was sent.")
        plan = build_plan(team, parsed.targets)
        if plan.error is not None:
            raise CommandError(f"The cards could not be read from Linq: {plan.error}. Nothing was sent.")
        for row in plan.rows:
            self.stdout.write(self._line(row))
        counts = plan.counts
        self.stdout.write(f"\n{counts['change']} will change, {counts['create']} will get a new card, "
                          f"{counts['skip']} unchanged, {counts['cannot']} refused, "
                          f"{counts['local']} label/tag changes.")
        if counts["cannot"] and not skip_refused:
            raise CommandError(f"{counts['cannot']} row(s) refused (see above). Fix them, or pass --skip-refused "
                               "to send the others; nothing was sent.")
        if dry_run:
            self.stdout.write("Dry run: nothing was sent.")
            return
        if not plan.confirmable(skip_refused=skip_refused):
            self.stdout.write("Nothing to do.")
            return
        job = jobs.job_create(team=team, user=self._owner(team, user), plan=plan, source=Job.Source.CSV,
                              skip_refused=skip_refused,
                              description=f"Import of {path.name} ({len(parsed.targets)} rows, command line)")
        skipped = f", {counts['cannot']} refused row(s) skipped" if counts["cannot"] else ""
        self.stdout.write(self.style.SUCCESS(f"Job {job.pk} queued: {counts['sending']} change(s){skipped}. "
                                             "Task workers send them (`manage.py db_worker`)."))

    @staticmethod
    def _line(row) -> str:
        where = f"row {row.row}: " if row.row else ""
        if row.kind == "cannot":
            return f"{where}{row.e164} REFUSED: {' '.join(str(r) for r in row.reasons)}"
        if row.kind == "skip":
            text = "unchanged"
        else:
            fields = "; ".join(f"{name} {old!r} -> {new!r}" for name, (old, new) in row.changes.items())
            kinds = {"create": "create: ", "recreate": "set up again (pending at Linq): "}
            text = kinds.get(row.kind, "change: ") + fields
        if row.label:
            text += f"; label {row.label[0]!r} -> {row.label[1]!r}"
        if row.tags:
            text += f"; tags {row.tags[0]} -> {row.tags[1]}"
        return f"{where}{row.e164} {text}"

    @staticmethod
    def _owner(team, username):
        owners = Membership.objects.filter(team=team, role=Role.OWNER).select_related("user")
        if username:
            user = get_user_model().objects.filter(username=username).first()
            if user is None or not owners.filter(user=user).exists():
                raise CommandError(f"{username} is not an owner of {team.slug}.")
            return user
        first = owners.order_by("created").first()
        if first is None:
            raise CommandError(f"{team.slug} has no owner to record the job for; pass --user.")
        return first.user
