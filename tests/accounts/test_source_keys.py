import pytest
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory
from rest_framework.views import APIView

from accounts.auth import HasSourceKey, SourceKeyAuthentication
from accounts.models import SourceKey
from tests.accounts.support import events, run


class IntakeProbe(APIView):
    """Stands in for an intake endpoint: who is calling?"""

    authentication_classes = [SourceKeyAuthentication]
    permission_classes = [HasSourceKey]

    def get(self, request):
        return Response({"source": request.auth.source, "prefix": request.auth.prefix})

    def post(self, request):
        return self.get(request)


class PoliceOnlyProbe(IntakeProbe):
    source_key_source = "110"


factory = APIRequestFactory()


def call(view=IntakeProbe, method="get", path="/intake", data=None, **headers):
    request = getattr(factory, method)(path, data=data, **headers)
    return view.as_view()(request)


@pytest.fixture
def police_key(db) -> str:
    out = run("issue_source_key", "110", "--name", "市局指挥中心")
    return out.split()[-1]


def test_an_issued_key_authenticates_its_source(police_key):
    response = call(HTTP_X_API_KEY=police_key)
    assert response.status_code == 200
    assert response.data == {"source": "110", "prefix": police_key[:11]}
    key = SourceKey.objects.get(prefix=police_key[:11])
    assert key.name == "市局指挥中心" and key.last_used_at is not None
    assert police_key not in key.key_hash and len(key.key_hash) == 64  # only a hash is stored


def test_open311_clients_may_send_the_key_as_a_form_or_query_field(police_key):
    assert call(method="post", data={"api_key": police_key}).status_code == 200
    assert call(path=f"/intake?api_key={police_key}").status_code == 200


def test_a_revoked_key_is_refused_with_the_standard_error_body(police_key):
    out = run("revoke_source_key", police_key[:11])
    assert "已吊销" in out
    response = call(HTTP_X_API_KEY=police_key)
    assert response.status_code == 403
    assert set(response.data) == {"message", "fields"} and "吊销" in response.data["message"]
    assert ("sourcekey.reject", "", False) in events()


def test_an_unknown_or_missing_key_is_refused(police_key):
    assert call(HTTP_X_API_KEY=police_key + "x").status_code == 403
    assert call().status_code == 403


def test_a_key_works_only_for_its_own_source(db, police_key):
    iot_key = run("issue_source_key", "iot").split()[-1]
    assert call(PoliceOnlyProbe, HTTP_X_API_KEY=police_key).status_code == 200
    assert call(PoliceOnlyProbe, HTTP_X_API_KEY=iot_key).status_code == 403


def test_issuing_and_revoking_are_audited(police_key):
    run("revoke_source_key", police_key[:11])
    assert [e[0] for e in events(event__startswith="sourcekey.")] == [
        "sourcekey.issue",
        "sourcekey.revoke",
    ]


def test_the_security_admin_issues_a_key_in_the_admin_and_sees_it_once(client, three_admins):
    client.force_login(three_admins["sec"])
    response = client.post(
        "/admin/accounts/sourcekey/add/", {"source": "12345", "name": "12345 热线平台"}, follow=True
    )
    assert response.status_code == 200
    message = next(str(m) for m in response.context["messages"] if "只显示这一次" in str(m))
    raw = message.split("：")[-1]
    assert call(HTTP_X_API_KEY=raw).data["source"] == "12345"


def test_the_system_admin_cannot_manage_keys(client, three_admins):
    client.force_login(three_admins["sys"])
    assert client.get("/admin/accounts/sourcekey/").status_code == 403
