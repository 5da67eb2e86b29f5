"""WSGI entry point, served by granian (scripts/run.sh, docker-compose.yml; docs/deployment.md).

Behind a reverse proxy, set FORWARDED_ALLOW_IPS to the proxy's addresses (comma-separated): a
request from one of them takes its client address and scheme from X-Forwarded-For and
X-Forwarded-Proto; from anyone else those headers are ignored, so no client can forge its
address in the audit log or the rate limits."""

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "cockpit.settings")
application = get_wsgi_application()

_proxies = [h.strip() for h in os.environ.get("FORWARDED_ALLOW_IPS", "").split(",") if h.strip()]
if _proxies:
    from granian.utils.proxies import wrap_wsgi_with_proxy_headers

    application = wrap_wsgi_with_proxy_headers(application, trusted_hosts=_proxies)
