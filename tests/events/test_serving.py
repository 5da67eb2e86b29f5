"""The production HTTP server (granian, WSGI, as scripts/run.sh and docker-compose start it)
serves the resident report and the webhooks; it takes a client's address from X-Forwarded-For
only when the request comes from a proxy named in FORWARDED_ALLOW_IPS (cockpit/wsgi.py), so no
client can forge its address in the audit log."""

import pytest
import requests

from accounts.models import AuditLog
from events.models import Case
from tests.e2e.clients import taxonomy
from tests.procs import WsgiServer
from tests.town import centre

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.xdist_group("serving")]


@pytest.mark.parametrize(
    "proxies,audited_ip",
    [("127.0.0.1", "203.0.113.7"), ("", "127.0.0.1")],
    ids=["behind-a-trusted-proxy", "no-proxy-trusted"],
)
def test_granian_serves_reports_and_believes_only_a_trusted_proxy(
    test_database_url, live_town, proxies, audited_ip
):
    taxonomy()
    server = WsgiServer(database_url=test_database_url, env={"FORWARDED_ALLOW_IPS": proxies})
    server.start()
    try:
        x, y = centre(0, 0)
        r = requests.post(
            server.url + "/api/report",
            json={"category": "06010", "description": "经 granian 上报", "lng": x, "lat": y},
            timeout=30,
        )
        assert r.status_code == 201, r.text
        assert Case.objects.filter(number=r.json()["number"], source="resident").exists()

        # a bad webhook key is audited, with the address the server believes
        r = requests.post(
            server.url + "/api/intake/iot/",
            json={"event_id": "E-1", "sensor_id": "S-1", "address": "x"},
            headers={"X-Api-Key": "wrong", "X-Forwarded-For": "203.0.113.7"},
            timeout=30,
        )
        assert r.status_code == 403 and r.json()["message"]
        assert AuditLog.objects.get(event="sourcekey.reject").ip == audited_ip
    finally:
        server.stop()
