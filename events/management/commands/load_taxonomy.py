from django.core.management.base import BaseCommand

from events.taxonomy import taxonomy_load


class Command(BaseCommand):
    help = "Load the shipped case taxonomy, deadline policies and working calendar (idempotent)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--overwrite",
            action="store_true",
            help="Also reset what admins tune (resident list, icons, grades, deadline amounts, calendar days).",
        )

    def handle(self, *args, overwrite=False, **options):
        r = taxonomy_load(overwrite=overwrite)
        self.stdout.write(
            f"categories +{r.categories_created} ~{r.categories_updated}; "
            f"deadline policies +{r.policies_created} ~{r.policies_updated}; "
            f"calendar days +{r.calendar_created} ~{r.calendar_updated}"
        )
