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
