import requests

from tests.procs import AsgiServer, CeleryWorker, ThrowawayRedis


def test_healthz_reports_database_redis_and_worker_when_all_are_up(celery_worker, live_server_url):
    response = requests.get(live_server_url + "/healthz", timeout=10)
    body = response.json()
    assert response.status_code == 200, body
    assert body["checks"]["database"]["ok"] and body["checks"]["database"]["postgis"]
    assert body["checks"]["redis"]["ok"]
    assert body["checks"]["worker"]["workers"]


def test_healthz_answers_503_naming_redis_when_redis_is_stopped(test_database_url):
    # The stack runs on a Redis of this test's own, which the test then stops.
    redis = ThrowawayRedis()
    redis.start()
    worker = CeleryWorker(database_url=test_database_url, redis_url=redis.url)
    server = AsgiServer(database_url=test_database_url, redis_url=redis.url)
    worker.start()
    server.start()
    try:
        assert requests.get(server.url + "/healthz", timeout=10).status_code == 200
        redis.stop()
        response = requests.get(server.url + "/healthz", timeout=15)
        body = response.json()
        assert response.status_code == 503
        assert body["status"] == "down"
        assert body["checks"]["redis"]["ok"] is False
        assert body["checks"]["worker"]["ok"] is False
        assert body["checks"]["database"]["ok"] is True
    finally:
        server.stop()
        worker.kill()
        redis.stop()
