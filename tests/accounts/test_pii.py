import datetime

import pytest
from cryptography.exceptions import InvalidTag
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts import pii, services
from accounts.models import AuditLog
from cockpit.errors import ApplicationError
from tests.accounts.support import events

# --- 身份证 GB 11643 ---


def test_a_valid_id_number_passes_and_a_lowercase_x_is_stored_uppercase():
    assert pii.validate_id_number("11010519491231002x") == "11010519491231002X"


def test_an_id_number_with_a_wrong_check_character_is_refused():
    with pytest.raises(ValidationError, match="校验位"):
        pii.validate_id_number("110105194912310021")


@pytest.mark.parametrize(
    "number",
    [
        "11010519491331002X",
        "11010518991231002X",
        "110105" + f"{datetime.date.today().year + 1}" + "0101002X",
    ],
)
def test_an_id_number_with_an_impossible_birth_date_is_refused(number):
    with pytest.raises(ValidationError, match="出生日期"):
        pii.validate_id_number(number)


@pytest.mark.parametrize("number", ["1101051949123100", "11010519491231002Y", "abc"])
def test_a_malformed_id_number_is_refused(number):
    with pytest.raises(ValidationError):
        pii.validate_id_number(number)


def test_a_fifteen_digit_number_is_upgraded_with_its_check_character():
    assert pii.validate_id_number("110105491231002") == "11010519491231002X"


def test_facts_come_from_the_number_not_the_person():
    facts = pii.id_number_facts("11010519491231002X")
    assert facts == {
        "birth_date": datetime.date(1949, 12, 31),
        "gender": "female",
        "area_code": "110105",
    }


# --- 统一社会信用代码 GB 32100 ---


def test_a_valid_credit_code_passes():
    # check character computed by hand: Σ idx·w mod 31 = 28 → 31 − 28 = 3 → "3"
    assert pii.validate_credit_code("91350100m000100y43") == "91350100M000100Y43"
    assert pii.credit_check_char("91350100M000100Y4") == "3"


@pytest.mark.parametrize("code", ["91350100M000100Y44", "91350100M000100Y4I", "9135010"])
def test_a_wrong_credit_code_is_refused(code):
    with pytest.raises(ValidationError):
        pii.validate_credit_code(code)


def test_an_inner_organisation_code_mismatch_is_only_a_warning():
    # The embedded organisation code M000100Y5 fails its own check (Y4 would pass), but the
    # 18th character is right: real codes like that exist, so it is a warning, not a refusal.
    code = "91350100M000100Y56"
    assert pii.validate_credit_code(code) == code
    assert pii.credit_code_warnings(code) == ["内嵌的组织机构代码校验位不符，请人工核对。"]
    assert pii.credit_code_warnings("91350100M000100Y43") == []


def test_the_eighteenth_character_is_checked_strictly_even_for_codes_seen_in_the_wild():
    # standards.md §2.2: 91350203M0001QAY9B fails the 18th-character check (9 expected).
    with pytest.raises(ValidationError, match="校验位"):
        pii.validate_credit_code("91350203M0001QAY9B")


# --- mobiles ---


@pytest.mark.parametrize(
    "raw",
    ["13812345678", "+86 138 1234 5678", "0086-138-1234-5678", "8613812345678", "138-1234-5678"],
)
def test_mobile_numbers_are_normalised(raw):
    assert pii.normalize_mobile(raw) == "13812345678"


@pytest.mark.parametrize("raw", ["12812345678", "1381234567", "057188888888", "+1 138 1234 5678"])
def test_numbers_that_are_not_mainland_mobiles_are_refused(raw):
    with pytest.raises(ValidationError, match="手机号码"):
        pii.normalize_mobile(raw)


# --- masking ---


def test_masking_keeps_only_what_the_conventions_allow():
    assert pii.mask_phone("13812345678") == "138****5678"
    assert pii.mask_id_number("11010519491231002X") == "110***********002X"
    assert pii.mask_id_number("11010519491231002X", head=6, tail=4) == "110105********002X"
    assert pii.mask_name("张三") == "张*" and pii.mask_name("欧阳娜娜") == "欧***"
    assert pii.mask_address("浙江省杭州市西湖区三墩镇兰里路88号") == "浙江省杭州市西湖区三墩镇****"
    assert pii.mask_address("北京市朝阳区建国路88号") == "北京市朝阳区****"
    assert pii.mask_address("三墩镇兰里小区3幢201") == "三墩镇****"


def test_the_id_mask_follows_the_setting(settings):
    settings.PII_ID_MASK = (1, 2)
    assert pii.mask_id_number("11010519491231002X") == "1***************2X"


# --- encryption and blind index ---


def test_encryption_round_trips_and_hides_the_value():
    token = pii.encrypt("11010519491231002X")
    assert token.startswith("v1:") and "11010519491231002X" not in token
    assert pii.decrypt(token) == "11010519491231002X"
    assert pii.encrypt("11010519491231002X") != token  # a fresh nonce each time


def test_a_tampered_ciphertext_does_not_decrypt():
    token = pii.encrypt("13812345678")
    tampered = token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1]
    with pytest.raises(InvalidTag):
        pii.decrypt(tampered)


def test_the_blind_index_is_stable_keyed_and_distinct(settings):
    index = pii.blind_index("13812345678")
    assert index == pii.blind_index("13812345678") and len(index) == 64
    assert index != pii.blind_index("13812345679")
    settings.PII_INDEX_KEY = "another key"
    assert pii.blind_index("13812345678") != index


# --- audited reveal ---


@pytest.fixture
def wang_with_phone(town):
    return services.user_set_phone(user=town.wang, phone="+86 139 0000 1111")


def test_a_commander_reveals_a_phone_and_it_is_audited(town, wang_with_phone):
    phone = pii.pii_reveal(
        user=town.chen, value_enc=wang_with_phone.phone_enc, field="phone", target="user:wang"
    )
    assert phone == "13900001111"
    record = AuditLog.objects.get(event="pii.reveal")
    assert (record.username, record.success, record.target, record.detail) == (
        "chen",
        True,
        "user:wang",
        {"field": "phone"},
    )


def test_a_grid_worker_may_not_reveal_and_the_attempt_is_audited(town, wang_with_phone):
    with pytest.raises(ApplicationError) as caught:
        pii.pii_reveal(
            user=town.zhao, value_enc=wang_with_phone.phone_enc, field="phone", target="user:wang"
        )
    assert caught.value.status_code == 403
    assert events(event="pii.reveal") == [("pii.reveal", "zhao", False)]


def test_the_staff_api_shows_a_masked_phone_and_reveals_it_on_request(
    client, town, wang_with_phone
):
    client.force_login(town.li)  # operator, whole town
    detail = client.get(reverse("accounts:staff-detail", args=[town.wang.pk])).json()
    assert detail["phone_masked"] == "139****1111"
    response = client.post(reverse("accounts:staff-phone-reveal", args=[town.wang.pk]))
    assert response.status_code == 200 and response.json() == {"phone": "13900001111"}
    assert events(event="pii.reveal") == [("pii.reveal", "li", True)]


def test_the_reveal_api_refuses_a_role_without_the_right(client, town, wang_with_phone):
    client.force_login(town.sun)  # area leader: sees wang, may not unmask
    response = client.post(reverse("accounts:staff-phone-reveal", args=[town.wang.pk]))
    assert response.status_code == 403 and set(response.json()) == {"message", "fields"}
    assert "13900001111" not in response.content.decode()


def test_staff_outside_the_scope_are_not_found(client, town, wang_with_phone):
    client.force_login(town.zhao)
    assert client.get(reverse("accounts:staff-detail", args=[town.wang.pk])).status_code == 404
