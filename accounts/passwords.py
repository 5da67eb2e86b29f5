import re

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

CLASSES = [
    (re.compile(r"[a-z]"), "lower"),
    (re.compile(r"[A-Z]"), "upper"),
    (re.compile(r"[0-9]"), "digit"),
    (re.compile(r"[^a-zA-Z0-9]"), "symbol"),
]


class ComplexityValidator:
    """等保 2.0 §8.1.4 a): passwords of at least ``min_length`` characters using ``min_classes``
    of the four classes (lower case, upper case, digits, symbols)."""

    def __init__(self, min_length: int = 8, min_classes: int = 3):
        self.min_length = min_length
        self.min_classes = min_classes

    def validate(self, password: str, user=None) -> None:
        errors = []
        if len(password) < self.min_length:
            errors.append(
                ValidationError(
                    _("密码至少 %(n)d 位。") % {"n": self.min_length}, code="password_too_short"
                )
            )
        used = sum(1 for pattern, _name in CLASSES if pattern.search(password))
        if used < self.min_classes:
            errors.append(
                ValidationError(
                    _("密码须包含大写字母、小写字母、数字、符号中的至少 %(n)d 类。")
                    % {"n": self.min_classes},
                    code="password_too_simple",
                )
            )
        if errors:
            raise ValidationError(errors)

    def get_help_text(self) -> str:
        return _("至少 %(len)d 位，含大写、小写、数字、符号中的 %(n)d 类。") % {
            "len": self.min_length,
            "n": self.min_classes,
        }
