"""The district admin edits checklists and the scoring model in the admin."""

from safetycode.models import ChecklistItem, ScoreModel
from tests.safetycode.conftest import make_site


def test_the_admin_lists_checklists_the_scoring_model_and_sites(town, client):
    from safetycode.defaults import defaults_ensure

    defaults_ensure()
    make_site()
    client.force_login(town.admin)
    for url in (
        "/admin/safetycode/checklistitem/?scene__exact=hazchem",
        f"/admin/safetycode/scoremodel/{ScoreModel.objects.get().id}/change/",
        "/admin/safetycode/site/",
        "/admin/safetycode/appeal/",
        "/admin/safetycode/inspectiontask/",
        "/admin/safetycode/importjob/",
    ):
        response = client.get(url, follow=True)
        assert response.status_code == 200, url
        assert response.redirect_chain == [], (url, response.redirect_chain)
    html = client.get("/admin/safetycode/checklistitem/?scene__exact=hazchem").content.decode()
    assert "危化品分类存放、标识清楚" in html
    assert ChecklistItem.objects.filter(scene="hazchem").count() == 6


def test_suspending_a_licence_in_the_admin_turns_the_code_red_at_once(town, client):
    from safetycode.defaults import defaults_ensure
    from safetycode.models import Site

    defaults_ensure()
    site = make_site()
    client.force_login(town.admin)
    url = f"/admin/safetycode/site/{site.id}/change/"
    form = client.get(url).context["adminform"].form
    data = {k: v for k, v in form.initial.items() if v is not None and k in form.fields}
    data.update(
        {
            "name": site.name,
            "scene": site.scene,
            "location": site.location.wkt,
            "attributes": "{}",
            "licence_suspended": "on",
            "qr_version": 1,
            "hazards-TOTAL_FORMS": 0,
            "hazards-INITIAL_FORMS": 0,
        }
    )
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    site = Site.objects.get(id=site.id)
    assert site.code == "red" and site.factors[0]["key"] == "licence"
