"""Personal information: validation, masking, encryption at rest, blind index, audited reveal.

standards.md §2 (GB 11643 ID numbers, GB 32100 credit codes, mainland mobiles) and §4.2 (PIPL,
GB/T 35273): store ID numbers and phones encrypted, with a keyed-hash blind index for exact
lookup; show them masked, server-side; reveal the plaintext only to roles allowed by
PII_REVEAL_ROLES, and write an audit record for every reveal.
"""

import base64
import datetime
import hashlib
import hmac
import os
import re
from functools import lru_cache

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from cockpit.errors import ApplicationError

# --- 公民身份号码, GB 11643-1999 (ISO 7064 MOD 11-2) ---------------------------------------

ID_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
ID_CHECK = "10X98765432"
ID_18 = re.compile(r"^\d{17}[\dX]$")
ID_15 = re.compile(r"^\d{15}$")


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def _birth_date(yyyymmdd: str) -> datetime.date | None:
    try:
        born = datetime.date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return None
    if born.year < 1900 or born > timezone.localdate():
        return None
    return born


def validate_id_number(value: str) -> str:
    """The 18-character number (upper-case X), or ValidationError. A 15-digit number of the
    1989 format is upgraded (century 19 and the check character added). Unknown area codes are
    accepted: revoked codes stay valid on cards (standards.md §2.1)."""
    number = (value or "").strip().replace(" ", "").upper()
    if ID_15.match(number):
        number = number[:6] + "19" + number[6:]
        number += id_check_char(number)
    if not ID_18.match(number):
        raise ValidationError(
            _("身份证号码应为 18 位（最后一位可为 X）或 15 位数字。"), code="id_format"
        )
    if _birth_date(number[6:14]) is None:
        raise ValidationError(_("身份证号码中的出生日期不正确。"), code="id_birth_date")
    if id_check_char(number[:17]) != number[17]:
        raise ValidationError(_("身份证号码校验位不正确，请核对。"), code="id_checksum")
    return number


def id_number_facts(number: str) -> dict:
    """Non-sensitive facts derived from a valid 18-character number, to store beside the
    ciphertext: birth date, gender (17th digit odd = male) and the area code."""
    return {
        "birth_date": _birth_date(number[6:14]),
        "gender": "male" if int(number[16]) % 2 else "female",
        "area_code": number[:6],
    }


# --- 统一社会信用代码, GB 32100-2015 -----------------------------------------------------------

CREDIT_CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
CREDIT_WEIGHTS = [1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28]
CREDIT_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{2}\d{6}[0-9A-HJ-NPQRTUWXY]{10}$")
ORG_WEIGHTS = [3, 7, 9, 10, 5, 8, 4, 2]
ORG_CHARSET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def credit_check_char(first17: str) -> str:
    total = sum(CREDIT_CHARSET.index(c) * w for c, w in zip(first17, CREDIT_WEIGHTS, strict=True))
    c = 31 - total % 31
    return CREDIT_CHARSET[0 if c == 31 else c]


def validate_credit_code(value: str) -> str:
    """The upper-case code, or ValidationError. Only the 18th character is checked strictly;
    see ``credit_code_warnings`` for the embedded organisation code."""
    code = (value or "").strip().replace(" ", "").upper()
    if not CREDIT_RE.match(code):
        raise ValidationError(
            _("统一社会信用代码应为 18 位数字或大写字母（不含 I、O、S、V、Z）。"),
            code="credit_format",
        )
    if credit_check_char(code[:17]) != code[17]:
        raise ValidationError(_("统一社会信用代码校验位不正确，请核对。"), code="credit_checksum")
    return code


def credit_code_warnings(code: str) -> list[str]:
    """Soft findings on a code that passed validate_credit_code. Real codes exist whose inner
    organisation code (GB 11714, characters 9–17) fails its own check, so this only warns."""
    org = code[8:17]
    if not all(c in ORG_CHARSET for c in org[:8]):
        return [_("内嵌的组织机构代码格式异常。")]
    c9 = 11 - sum(ORG_CHARSET.index(c) * w for c, w in zip(org[:8], ORG_WEIGHTS, strict=True)) % 11
    expected = {10: "X", 11: "0"}.get(c9, str(c9))
    if org[8] != expected:
        return [_("内嵌的组织机构代码校验位不符，请人工核对。")]
    return []


# --- Mainland mobile numbers -------------------------------------------------------------

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")


def normalize_mobile(value: str) -> str:
    """11 digits, or ValidationError. Strips spaces, dashes and a +86 / 0086 / 86 prefix; the
    lenient pattern accepts new number ranges (standards.md §2.3)."""
    number = re.sub(r"[\s\-()（）]", "", value or "")
    for prefix in ("+86", "0086", "86"):
        if number.startswith(prefix) and len(number) == len(prefix) + 11:
            number = number[len(prefix) :]
            break
    if not MOBILE_RE.match(number):
        raise ValidationError(_("请输入正确的 11 位手机号码。"), code="mobile_format")
    return number


# --- Masking (GB/T 35273 §7.2: de-identify what a screen shows) -----------------------------


def _mask(value: str, head: int, tail: int) -> str:
    if len(value) <= head + tail:
        return "*" * len(value)
    return value[:head] + "*" * (len(value) - head - tail) + value[len(value) - tail :]


def mask_phone(value: str) -> str:
    """前3后4: 138****5678."""
    if not value:
        return ""
    try:
        value = normalize_mobile(value)
    except ValidationError:
        value = re.sub(r"\s", "", value)
    return _mask(value, 3, 4)


def mask_id_number(value: str, head: int | None = None, tail: int | None = None) -> str:
    """前3后4 by default (settings.PII_ID_MASK): 110***********002X."""
    if not value:
        return ""
    default_head, default_tail = settings.PII_ID_MASK
    return _mask(
        value.strip().upper(),
        default_head if head is None else head,
        default_tail if tail is None else tail,
    )


def mask_name(value: str) -> str:
    """Keep the first character: 张*, 欧阳** ."""
    value = (value or "").strip()
    if len(value) <= 1:
        return "*" if value else ""
    return value[0] + "*" * (len(value) - 1)


_CJK = "\u4e00-\u9fff"
# Administrative levels, outermost first; an address keeps what these match and masks the rest.
ADDRESS_LEVELS = [
    re.compile(rf"(?:北京市|上海市|天津市|重庆市|[{_CJK}]{{2,7}}?(?:省|自治区|特别行政区))"),
    re.compile(rf"[{_CJK}]{{2,9}}?(?:市|自治州|地区|盟)"),
    re.compile(rf"[{_CJK}]{{1,9}}?(?:区|县|旗|市)"),
    re.compile(rf"[{_CJK}]{{1,9}}?(?:街道|镇|乡)"),
]
# "区" also ends words that are not districts.
NOT_A_DISTRICT = ("小区", "园区", "社区", "景区", "校区", "厂区", "营区")


def mask_address(value: str) -> str:
    """Keep the address down to the 区/街道 (town) level and mask the rest:
    浙江省杭州市西湖区三墩镇兰里路88号 → 浙江省杭州市西湖区三墩镇****."""
    value = (value or "").strip()
    if not value:
        return ""
    pos = 0
    for level in ADDRESS_LEVELS:
        m = level.match(value, pos)
        if m and not m.group(0).endswith(NOT_A_DISTRICT):
            pos = m.end()
    if pos == 0:
        pos = min(6, len(value) // 2)  # no recognisable unit: keep a short head only
    return value[:pos] + "****" if pos < len(value) else value


# --- Encryption at rest (AES-256-GCM) and blind index (HMAC-SHA256) -------------------------

CIPHER_VERSION = "v1"


@lru_cache(maxsize=4)
def _derive(secret: str, purpose: bytes) -> bytes:
    # HKDF turns the configured secret (any length) into a 256-bit key per purpose, so the
    # encryption and index keys stay independent even if one secret is reused for both.
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=b"cockpit " + purpose).derive(
        secret.encode()
    )


def _cipher() -> AESGCM:
    return AESGCM(
        _derive(settings.PII_ENCRYPTION_KEY, b"pii-encryption " + CIPHER_VERSION.encode())
    )


def encrypt(plaintext: str) -> str:
    """ "v1:" + base64url(nonce ‖ ciphertext ‖ tag). The empty string stays empty, so a blank
    field needs no special case. A fresh 96-bit random nonce per value."""
    if not plaintext:
        return ""
    nonce = os.urandom(12)
    sealed = _cipher().encrypt(nonce, plaintext.encode(), None)
    return f"{CIPHER_VERSION}:" + base64.urlsafe_b64encode(nonce + sealed).decode().rstrip("=")


def decrypt(token: str) -> str:
    """The plaintext; ValueError for an unknown version, InvalidTag for a tampered value."""
    if not token:
        return ""
    version, _sep, body = token.partition(":")
    if version != CIPHER_VERSION:
        raise ValueError(f"unknown ciphertext version {version!r}")
    raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
    return _cipher().decrypt(raw[:12], raw[12:], None).decode()


def blind_index(value: str) -> str:
    """A keyed hash for exact lookup of an encrypted value. Normalise first (normalize_mobile,
    validate_id_number) so the same number always gives the same index."""
    if not value:
        return ""
    key = _derive(settings.PII_INDEX_KEY, b"pii-blind-index")
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()


# --- Audited reveal ---------------------------------------------------------------------------


def pii_reveal(*, user, value_enc: str, field: str, target: str, request=None) -> str:
    """The plaintext of ``value_enc`` for a user whose role may see it, with an audit record;
    otherwise the refusal is audited and ApplicationError 403 raised."""
    from accounts.selectors import user_can
    from accounts.services import audit_record

    if not user_can(user, "pii.reveal"):
        audit_record(
            user=user,
            event="pii.reveal",
            success=False,
            request=request,
            target=target,
            detail={"field": field},
        )
        raise ApplicationError(_("您没有查看完整个人信息的权限。"), status_code=403)
    plaintext = decrypt(value_enc)
    audit_record(
        user=user,
        event="pii.reveal",
        success=True,
        request=request,
        target=target,
        detail={"field": field},
    )
    return plaintext
