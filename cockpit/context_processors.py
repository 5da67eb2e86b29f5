from django.conf import settings


def site(request):
    return {"TOWN_NAME": settings.TOWN_NAME, "WS_PORT": settings.WS_PORT}
