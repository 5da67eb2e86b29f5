"""Helpers for the safety-code tests: valid credit codes, sites in the small town's grids,
logged-in API clients, photos."""

import pytest
from rest_framework.test import APIClient

from accounts import pii
from tests.town import centre


def credit_code(n: int) -> str:
    """A valid 统一社会信用代码 (GB 32100 check character computed)."""
    first17 = f"91330106MA{n:07d}"
    return first17 + pii.credit_check_char(first17)


IN_G1, IN_G2, IN_G3, IN_G4 = centre(0, 0), centre(1, 0), centre(0, 1), centre(1, 1)


@pytest.fixture(autouse=True)
def _fast(settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    settings.WHITENOISE_USE_FINDERS = False
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def api():
    def make(user=None) -> APIClient:
        client = APIClient()
        if user is not None:
            client.force_authenticate(user=user)
        return client

    return make


def make_site(*, name="兰里小吃店", scene="shop", at=IN_G1, n=1, attributes=None, **extra):
    from safetycode.defaults import defaults_ensure
    from safetycode.services import SiteInput, site_create

    defaults_ensure()  # transactional tests truncate the migration's rows
    return site_create(
        item=SiteInput(
            name=name,
            scene=scene,
            credit_code=credit_code(n) if scene != "rental" else "",
            lng=at[0],
            lat=at[1],
            address="三墩镇兰里路88号",
            owner="张三丰",
            phone="13812345678",
            attributes=attributes or {},
            **extra,
        )
    )


@pytest.fixture
def site(town):
    return make_site()


def all_yes(site) -> dict:
    from safetycode.services import checklist_for

    return {i.code: "yes" for i in checklist_for(scene=site.scene)}
