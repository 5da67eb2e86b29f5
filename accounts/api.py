"""JSON endpoints for the field app: login (both factors in one call), logout, who am I, and a
staff member's phone — masked, or revealed with an audit record."""

from django.middleware.csrf import get_token
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views.decorators.debug import sensitive_post_parameters
from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import pii, services
from accounts.selectors import staff_get_for, user_scope_path
from cockpit.errors import ApplicationError


class UserOutputSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    username = serializers.CharField()
    display_name = serializers.CharField()
    role = serializers.CharField()
    role_label = serializers.CharField(source="get_role_display")
    scope = serializers.SerializerMethodField()
    phone_masked = serializers.SerializerMethodField()

    def get_scope(self, user) -> dict | None:
        if user.scope_id is None:
            return None
        return {
            "id": user.scope_id,
            "name": user.scope.name,
            "kind": user.scope.kind,
            "path": user.scope.path,
        }

    def get_phone_masked(self, user) -> str:
        # Masked on the server (GB/T 35273 §7.2): the plaintext never reaches the client here.
        return pii.mask_phone(pii.decrypt(user.phone_enc))


@method_decorator(sensitive_post_parameters("password", "totp_code"), name="dispatch")
class LoginApi(APIView):
    """Log in with username, password and, for the roles that need it, the TOTP code.

    No CSRF check: the caller has no session yet (the answer carries a CSRF token for later
    writes). Authenticator enrolment needs the QR code, so it is done on the web login page.
    """

    authentication_classes: list = []
    permission_classes = [AllowAny]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "LoginInput"

        username = serializers.CharField(max_length=150)
        password = serializers.CharField(max_length=256, trim_whitespace=False)
        totp_code = serializers.CharField(max_length=16, required=False, allow_blank=True)

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "LoginOutput"

        user = UserOutputSerializer()
        password_expired = serializers.BooleanField()
        csrf_token = serializers.CharField()

    @extend_schema(request=InputSerializer, responses=OutputSerializer)
    def post(self, request):
        data = self.InputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        result = services.login_check(
            username=data.validated_data["username"],
            password=data.validated_data["password"],
            request=request,
        )
        factors = ["password"]
        if result.totp_required:
            if not result.totp_enrolled:
                raise ApplicationError(
                    _("此账号需要动态验证码，请先在网页端登录完成绑定。"), status_code=403
                )
            code = data.validated_data.get("totp_code", "")
            if not code:
                message = _("请输入动态验证码。")
                raise ApplicationError(message, fields={"totp_code": [message]}, status_code=400)
            services.totp_check(user=result.user, code=code, request=request)
            factors.append("totp")
        services.session_login(request=request, user=result.user, factors=factors)
        out = {
            "user": result.user,
            "password_expired": result.password_expired,
            "csrf_token": get_token(request),
        }
        return Response(self.OutputSerializer(out).data)


class LogoutApi(APIView):
    @extend_schema(request=None, responses={204: None})
    def post(self, request):
        services.session_logout(request=request)
        return Response(status=204)


class MeApi(APIView):
    class OutputSerializer(UserOutputSerializer):
        class Meta:
            ref_name = "MeOutput"

        scope_path = serializers.SerializerMethodField()

        def get_scope_path(self, user) -> str | None:
            return user_scope_path(user)

    @extend_schema(responses=OutputSerializer)
    def get(self, request):
        return Response(self.OutputSerializer(request.user).data)


class StaffDetailApi(APIView):
    """A staff member inside the caller's scope, phone masked."""

    @extend_schema(responses=UserOutputSerializer)
    def get(self, request, id: int):
        return Response(UserOutputSerializer(staff_get_for(user=request.user, id=id)).data)


class StaffPhoneRevealApi(APIView):
    """The full phone number, for roles in PII_REVEAL_ROLES; every reveal (and refusal) is
    audited. POST, because it is an audited action, not a cacheable read."""

    class OutputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "StaffPhoneRevealOutput"

        phone = serializers.CharField()

    @extend_schema(request=None, responses=OutputSerializer)
    def post(self, request, id: int):
        staff = staff_get_for(user=request.user, id=id)
        phone = pii.pii_reveal(
            user=request.user,
            value_enc=staff.phone_enc,
            field="phone",
            target=f"user:{staff.pk}",
            request=request,
        )
        return Response(self.OutputSerializer({"phone": phone}).data)
