"""Helpers for the events tests: photos made with Pillow, a private MEDIA_ROOT, logged-in
clients for the small town's actors, webhook keys, and a relaxed resident rate limit."""

import io
import re
import time

import pytest
from PIL import Image
from rest_framework.test import APIClient

from tests.town import centre


def routed_all(cases, seconds: float = 30.0) -> bool:
    """Wait until the worker has routed every case of ``cases`` (a queryset). A transactional
    test that reports ends with this: a routing transaction still running when the test's
    database is flushed can deadlock with the flush."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not cases.filter(routed_at__isnull=True).exists():
            return True
        time.sleep(0.1)
    return False


def jpeg_bytes(size=(64, 48), color=(200, 80, 40), fmt="JPEG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, color).save(buffer, fmt)
    return buffer.getvalue()


def photo(name="photo.jpg", size=(64, 48), fmt="JPEG", content_type="image/jpeg"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, jpeg_bytes(size, fmt=fmt), content_type=content_type)


# Emoji (and the dingbats block, where ✅ lives): a phone or headless browser without an emoji
# font shows them as empty boxes, so the residents' pages draw their icons as inline SVG.
EMOJI = re.compile("[\U0001f300-\U0001faff\u2600-\u27bf\u2b50\u2705\ufe0f]")


# A point inside grid G1 of the small town, and one far outside the town.
IN_G1 = centre(0, 0)
IN_G3 = centre(0, 1)
OUTSIDE = (121.47, 31.23)  # Shanghai


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Every test writes photos into its own MEDIA_ROOT, so file counts are exact."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    # Speed, not behaviour: each test client loads the middleware, and WhiteNoise with finders
    # walks node_modules (~30,000 files, ~1 s) every time; the small town hashes 7 passwords.
    settings.WHITENOISE_USE_FINDERS = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.REPORT_RATE_PER_IP = "100000/3600"
    settings.REPORT_RATE_PER_PHONE = "100000/3600"
    return tmp_path / "media"


def media_files(root) -> list:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def api():
    """A client for one actor: api(user) → APIClient logged in as that user (no TOTP step), with
    a session as the field app has, so plain views (POST /api/cases/) see the user too."""

    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def source_key(db):
    """source_key("110") → the raw key of a fresh active key of that source."""
    from accounts.services import source_key_issue

    def make(source: str) -> str:
        _key, raw = source_key_issue(source=source, name=f"test {source}")
        return raw

    return make
