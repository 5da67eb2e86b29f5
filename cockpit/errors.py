"""One error body for every API: {"message": "...", "fields": {"field": ["..."]}}.

Services raise ApplicationError; DRF validation errors are reshaped here. Messages are
translatable: zh-hans by default, English when the client asks for it (Accept-Language: en).
"""

import threading

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from django.utils.translation import gettext as _
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


class ApplicationError(Exception):
    """A rule of the domain was broken; the message is meant for the user."""

    status_code = status.HTTP_400_BAD_REQUEST

    def __init__(self, message: str, *, fields: dict | None = None, status_code: int | None = None):
        super().__init__(message)
        self.message = message
        self.fields = fields or {}
        if status_code is not None:
            self.status_code = status_code


def _as_list(value) -> list[str]:
    if isinstance(value, list | tuple):
        out: list[str] = []
        for v in value:
            out.extend(_as_list(v) if isinstance(v, list | tuple | dict) else [str(v)])
        return out
    if isinstance(value, dict):
        return [f"{k}: {m}" for k, v in value.items() for m in _as_list(v)]
    return [str(value)]


def exception_handler(exc, context):
    if isinstance(exc, DjangoValidationError):
        fields = (
            {k: _as_list(v) for k, v in exc.message_dict.items()}
            if hasattr(exc, "error_dict")
            else {}
        )
        exc = exceptions.ValidationError(fields or {"non_field_errors": exc.messages})
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()

    if isinstance(exc, ApplicationError):
        return Response(
            {"message": exc.message, "fields": {k: _as_list(v) for k, v in exc.fields.items()}},
            status=exc.status_code,
        )

    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        detail = exc.detail if isinstance(exc.detail, dict) else {"non_field_errors": exc.detail}
        fields = {k: _as_list(v) for k, v in detail.items()}
        response.data = {"message": _("提交的内容有误，请检查标出的字段。"), "fields": fields}
    else:
        response.data = {"message": str(getattr(exc, "detail", exc)), "fields": {}}
    return response


def error_response(exc: ApplicationError) -> JsonResponse:
    """The error body of a plain Django view (the same as the API's, without DRF)."""
    return JsonResponse(
        {"message": str(exc.message), "fields": {k: _as_list(v) for k, v in exc.fields.items()}},
        status=exc.status_code,
        json_dumps_params={"ensure_ascii": False},
    )


_checkers = threading.local()


def serializer_check(serializer_class, data) -> dict:
    """``serializer_class``'s validated data, or an ApplicationError naming every field at fault.
    One instance per class and thread is reused (run_validation keeps no state on it): building
    a serializer deep-copies all its fields, the largest cost of checking a small request or a
    batch item."""
    checkers = _checkers.__dict__
    checker = checkers.get(serializer_class)
    if checker is None:
        checker = checkers[serializer_class] = serializer_class()
    try:
        return checker.run_validation(data)
    except serializers.ValidationError as exc:
        raise ApplicationError(
            _("提交的内容有误，请检查标出的字段。"),
            fields={k: _as_list(v) for k, v in exc.detail.items()},
        ) from None
