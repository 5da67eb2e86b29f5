from django.urls import path

from dispatch import api

urlpatterns = [
    path("api/cases/<int:id>/dispatch", api.CaseDispatchApi.as_view(), name="case-dispatch"),
    path(
        "api/cases/<int:id>/recommendation",
        api.CaseRecommendationApi.as_view(),
        name="case-recommendation",
    ),
    path("api/cases/<int:id>/reply", api.CaseReplyApi.as_view(), name="case-reply"),
    path("api/orders", api.OrderCreateApi.as_view(), name="order-create"),
    path("api/answer-templates", api.AnswerTemplateListApi.as_view(), name="answer-templates"),
    path("api/exports", api.ExportCreateApi.as_view(), name="export-create"),
    path("api/exports/<uuid:id>", api.ExportGetApi.as_view(), name="export-get"),
]
