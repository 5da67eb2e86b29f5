"""The entries on the home page, one per audience. Each app adds its own as it lands."""

TILES = [
    {"zh": "随手拍", "en": "Snap & report", "url": "/report"},  # events: residents report
    {"zh": "查询进度", "en": "Track my report", "url": "/t/"},  # events: residents follow a report
    {"zh": "接口文档", "en": "API docs", "url": "/api/docs/"},
    {"zh": "系统管理", "en": "Administration", "url": "/admin/"},
    {"zh": "健康检查", "en": "Health", "url": "/healthz"},
]
