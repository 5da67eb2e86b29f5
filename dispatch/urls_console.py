from django.urls import path

from dispatch import views

urlpatterns = [
    path("console/", views.console_queue, name="console-queue"),
    path("console/cases/<int:id>/", views.console_case, name="console-case"),
]
