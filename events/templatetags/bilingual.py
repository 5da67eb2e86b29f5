"""{% bi text %}: Chinese first with English beside, for the residents' pages.

Use with a translated string so makemessages extracts it:
    {% translate "拍照" as t %}{% bi t %}
In Chinese (the source language) ``t`` is the msgid, shown with its English translation
beside it; in English only ``t`` is shown.
"""

from django import template
from django.utils.html import format_html
from django.utils.translation import get_language, gettext, override

register = template.Library()


@register.simple_tag
def bi(text: str, tag: str = "span"):
    if (get_language() or "zh-hans").startswith("en"):
        return format_html('<{0} class="t">{1}</{0}>', tag, text)
    with override("en"):
        english = gettext(str(text))
    if english == str(text):
        return format_html('<{0} class="t">{1}</{0}>', tag, text)
    return format_html(
        '<{0} class="t">{1}</{0}> <{0} class="en" lang="en">{2}</{0}>', tag, text, english
    )


@register.simple_tag
def bi_plain(text: str) -> str:
    """The same as plain text, "中文 · English", for messages a script shows (in a JSON block):
    {% translate "正在定位…" as t %}{% bi_plain t %}."""
    if (get_language() or "zh-hans").startswith("en"):
        return str(text)
    with override("en"):
        english = gettext(str(text))
    return str(text) if english == str(text) else f"{text} · {english}"
