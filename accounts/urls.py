from django.urls import path

from accounts import api, views

app_name = "accounts"
urlpatterns = [
    path("login/", views.login_view, name="login"),
    path("login/totp/", views.totp_view, name="login-totp"),
    path("logout/", views.logout_view, name="logout"),
    path("password/change/", views.password_change_view, name="password-change"),
    path("api/login", api.LoginApi.as_view(), name="api-login"),
    path("api/logout", api.LogoutApi.as_view(), name="api-logout"),
    path("api/me", api.MeApi.as_view(), name="me"),
    path("api/staff/<int:id>", api.StaffDetailApi.as_view(), name="staff-detail"),
    path(
        "api/staff/<int:id>/phone/reveal",
        api.StaffPhoneRevealApi.as_view(),
        name="staff-phone-reveal",
    ),
]
