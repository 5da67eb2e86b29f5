"""Case numbers: SD-YYYYMMDD-NNNNNN from a sequence, never cut short past 999,999."""

import re

import pytest
from django.db import connection

from events import services
from events.models import Case
from tests.town import centre

pytestmark = pytest.mark.django_db


def test_numbers_grow_past_six_digits_instead_of_repeating(town, categories):
    with connection.cursor() as cursor:
        cursor.execute("SELECT setval('events_case_number_seq', 999999, false)")
    lng, lat = centre(0, 0)
    made = [
        services.case_report(
            source=Case.Source.WORKER, category=categories["06010"], lng=lng, lat=lat + i * 0.003
        ).case.number
        for i in range(2)
    ]
    assert re.fullmatch(r"SD-\d{8}-999999", made[0]), made
    assert re.fullmatch(r"SD-\d{8}-1000000", made[1]), made
