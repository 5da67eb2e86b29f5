"""Category icons become names drawn as inline SVG (Category.Icon) instead of emoji, which
machines without an emoji font show as empty boxes. The shipped emoji become their names; an
emoji an admin chose that has no name becomes blank (the generic icon) and is listed."""

from django.db import migrations, models

# The emoji shipped in events/taxonomy_data.py until now, without variation selectors.
EMOJI_NAMES = {
    "🗑": "trash",
    "🚗": "car",
    "🏪": "stall",
    "🚧": "road",
    "💡": "lamp",
    "📦": "box",
    "🔊": "noise",
    "🌊": "water",
    "📄": "poster",
    "⚠": "hazard",
    "🤝": "dispute",
    "✏": "other",
}
NAMES = set(EMOJI_NAMES.values())


def to_names(apps, schema_editor):
    Category = apps.get_model("events", "Category")
    changed = []
    for c in Category.objects.exclude(icon="").exclude(icon__in=NAMES):
        name = EMOJI_NAMES.get(c.icon.replace("\ufe0f", "").strip(), "")
        if not name:
            print(f"\n  {c.code} {c.name}: icon {c.icon!r} has no name, left blank")
        c.icon = name
        changed.append(c)
    Category.objects.bulk_update(changed, ["icon"])


def to_emoji(apps, schema_editor):
    Category = apps.get_model("events", "Category")
    emoji = {name: e + ("\ufe0f" if e in "🗑⚠✏" else "") for e, name in EMOJI_NAMES.items()}
    changed = []
    for c in Category.objects.filter(icon__in=NAMES):
        c.icon = emoji[c.icon]
        changed.append(c)
    Category.objects.bulk_update(changed, ["icon"])


class Migration(migrations.Migration):
    dependencies = [("events", "0007_lean_log_indexes")]

    operations = [
        migrations.AlterField(
            model_name="category",
            name="icon",
            field=models.CharField(
                blank=True,
                choices=[
                    ("trash", "垃圾桶"),
                    ("car", "汽车"),
                    ("stall", "摊位"),
                    ("road", "路障"),
                    ("lamp", "灯泡"),
                    ("box", "箱子"),
                    ("noise", "喇叭"),
                    ("water", "水波"),
                    ("poster", "纸张"),
                    ("hazard", "警示"),
                    ("dispute", "对话"),
                    ("other", "铅笔"),
                ],
                max_length=16,
                verbose_name="图标",
            ),
        ),
        migrations.RunPython(to_names, to_emoji),
    ]
