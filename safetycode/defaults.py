"""The shipped defaults (checklists per scene, the default scoring model), loadable again when a
database lost them: migration 0002 ships them once; tests that truncate every table call
``defaults_ensure`` before they need them. Never overwrites what an admin edited."""

from safetycode.models import ChecklistItem, ScoreModel
from safetycode.scenes import CHECKLISTS

SCENE_BASE = {
    "shop": 5,
    "key_place": 10,
    "rental": 8,
    "hazchem": 20,
    "labour": 10,
    "construction": 15,
    "crowded": 12,
    "office": 3,
}


def defaults_ensure() -> None:
    if not ChecklistItem.objects.exists():
        ChecklistItem.objects.bulk_create(
            [
                ChecklistItem(
                    scene=scene,
                    code=code,
                    text=text,
                    text_en=text_en,
                    weight=weight,
                    hazard_answers=["no"],
                    hazard_level=level,
                    rectify_days=3 if level == "major" else 7,
                    sort=sort * 10,
                )
                for scene, items in CHECKLISTS.items()
                for sort, (code, text, text_en, weight, level) in enumerate(items, start=1)
            ]
        )
    if not ScoreModel.objects.exists():
        ScoreModel.objects.create(
            name="默认评分模型", scene_base=SCENE_BASE, grid_case_majors=["平安综治", "应急处置"]
        )
