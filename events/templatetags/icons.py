"""Interface icons as inline SVG: {% icon "pin" %}.

The residents' pages (随手拍, tracking, the owner's self-check) draw their icons here rather than
with emoji, which a phone or headless browser without an emoji font shows as empty boxes. Same
drawing rules as {% category_icon %}: a 24×24 stroke drawing in ``currentColor``, so size and
colour come from the surrounding CSS. The field app draws the same ones in JS: its page embeds
PATHS ({% icon_paths %}) and static/field/app.js wraps them, so each drawing exists once.
Safetycode's templates load it too, as they load ``bilingual``.
"""

from django import template
from django.utils.html import format_html
from django.utils.safestring import SafeString, mark_safe

register = template.Library()

PATHS = {
    "camera": '<path d="M4 8h3l2-3h6l2 3h3v11H4z"/><circle cx="12" cy="13" r="3.5"/>',
    "album": '<rect x="3" y="4" width="18" height="16" rx="2"/><circle cx="8.5" cy="9.5" r="1.5"/><path d="M21 15.5 16 11 6 20"/>',
    "pin": '<path d="M12 21s-7-6.2-7-11.5A7 7 0 0 1 19 9.5C19 14.8 12 21 12 21z"/><circle cx="12" cy="9.5" r="2.5"/>',
    "done": '<circle cx="12" cy="12" r="9"/><path d="M8 12.5l2.5 2.5L16 9.5"/>',
    # The tracking page's verdict (Case.Rating): a wide smile, a slight one, a frown.
    "face-satisfied": '<circle cx="12" cy="12" r="9"/><path d="M9 9.5h.01M15 9.5h.01M8 13.5a4 4 0 0 0 8 0"/>',
    "face-basic": '<circle cx="12" cy="12" r="9"/><path d="M9 9.5h.01M15 9.5h.01M8.5 14.5q3.5 2.5 7 0"/>',
    "face-unsatisfied": '<circle cx="12" cy="12" r="9"/><path d="M9 9.5h.01M15 9.5h.01M8 17a4.5 4.5 0 0 1 8 0"/>',
    # The field app's (static/field/app.js): accept, call for help, nothing to do, offline.
    "hand": '<path d="M7 11V6a1.5 1.5 0 0 1 3 0v4M10 10V4.5a1.5 1.5 0 0 1 3 0V10M13 10V5.5a1.5 1.5 0 0 1 3 0V12M16 9.5a1.5 1.5 0 0 1 3 0V14a7 7 0 0 1-7 7h-1a6 6 0 0 1-5-2.7L3.5 14a1.5 1.5 0 0 1 2.5-1.7L7 14"/>',
    "call": '<path d="M3 10v4h4l6 4V6L7 10z"/><path d="M16 9a4 4 0 0 1 0 6M19 6.5a8 8 0 0 1 0 11"/>',
    "stop": '<circle cx="12" cy="12" r="9"/><path d="M5.6 5.6l12.8 12.8"/>',
    "cloud": '<path d="M7 18a4.5 4.5 0 0 1-.5-9A6 6 0 0 1 18 8.5 4.5 4.5 0 0 1 17.5 18z"/><path d="M4 4l16 16"/>',
}


def svg(paths: str, *, css: str, name: str) -> SafeString:
    """The one <svg> wrapper, shared with {% category_icon %}; ``paths`` are our constants."""
    return format_html(
        '<svg class="{}" data-icon="{}" viewBox="0 0 24 24" width="24" height="24"'
        ' aria-hidden="true" fill="none"'
        ' stroke="currentColor" stroke-width="2" stroke-linecap="round"'
        ' stroke-linejoin="round">{}</svg>',
        css,
        name,
        mark_safe(paths),  # constants, never user input
    )


@register.simple_tag
def icon(name: str, css: str = "icon") -> SafeString:
    # An unknown name is a typo in a template: fail loudly (the page tests render every one).
    return svg(PATHS[name], css=css, name=name)


@register.simple_tag
def icon_paths() -> dict:
    """Every drawing by name, for a page whose JS draws icons (the field app): json_script it."""
    return PATHS
