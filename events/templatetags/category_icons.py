"""Category icons as inline SVG: {% category_icon c.icon %} (the wrapper is icons.svg).

Stroke icons on a 24×24 grid in ``currentColor``, the style of the field app's own icons
(static/field/app.js), so they show on phones and browsers without an emoji font. A blank or
unknown name gets a generic icon. The field app draws the same paths from
{% category_icon_paths as paths %}{{ paths|json_script:"category-icons" }}.
"""

from django import template

from events.models import Category
from events.templatetags.icons import svg

register = template.Library()

Icon = Category.Icon

PATHS = {
    Icon.TRASH: '<path d="M4 7h16M9.5 7V4.5h5V7M6 7l1 13h10l1-13M10 11v5.5M14 11v5.5"/>',
    Icon.CAR: '<path d="M5 11l1.8-4.5h10.4L19 11M4.5 11h15a1.5 1.5 0 0 1 1.5 1.5V17H3v-4.5A1.5 1.5 0 0 1 4.5 11zM6 17v2.5M18 17v2.5M6.5 14h1.5M16 14h1.5"/>',
    Icon.STALL: '<path d="M4.5 4h15L21 9H3zM3 9a3 3 0 0 0 6 0 3 3 0 0 0 6 0 3 3 0 0 0 6 0M5 12v8h14v-8M10 20v-4.5h4V20"/>',
    Icon.ROAD: '<path d="M3 7h18v5H3zM8 7l-3 5M14 7l-3 5M20 7l-3 5M6 12v8M18 12v8M4 20h4M16 20h4"/>',
    Icon.LAMP: '<path d="M9.5 18h5M10.5 21h3M12 3a6 6 0 0 0-3.6 10.8c.7.6 1.1 1.3 1.1 2.1V16h5v-.1c0-.8.4-1.5 1.1-2.1A6 6 0 0 0 12 3z"/>',
    Icon.BOX: '<path d="M3 7.5 12 3l9 4.5v9L12 21l-9-4.5zM3 7.5l9 4.5 9-4.5M12 12v9M7.5 5.2l9 4.6"/>',
    Icon.NOISE: '<path d="M4 9.5v5h3.5l4.5 4v-13l-4.5 4zM15.5 9a4 4 0 0 1 0 6M18.5 6.5a8 8 0 0 1 0 11"/>',
    Icon.WATER: '<path d="M2 7.5q2.5-3 5 0t5 0 5 0 5 0M2 12.5q2.5-3 5 0t5 0 5 0 5 0M2 17.5q2.5-3 5 0t5 0 5 0 5 0"/>',
    Icon.POSTER: '<path d="M6 3h8.5L19 7.5V21H6zM14.5 3v4.5H19M9 12h7M9 15.5h7M9 19h4"/>',
    Icon.HAZARD: '<path d="M12 3.5 2.5 20h19zM12 10v4.5M12 17.5v.01"/>',
    Icon.DISPUTE: '<path d="M3 4.5h11v7.5H8l-3 3v-3H3zM17 8.5h4V16h-2v3l-3-3h-5v-1.5"/>',
    Icon.OTHER: '<path d="M4 20l1-4.5L15.5 5l3.5 3.5L8.5 19zM13.5 7l3.5 3.5"/>',
}
GENERIC = '<circle cx="12" cy="12" r="9"/><path d="M8 12h.01M12 12h.01M16 12h.01"/>'


@register.simple_tag
def category_icon(name: str = "", css: str = "cat-svg"):
    if name in PATHS:
        return svg(PATHS[name], css=css, name=name)
    return svg(GENERIC, css=css, name="")


@register.simple_tag
def category_icon_paths() -> dict:
    """Every icon's paths by name, the generic one under "" (for the field app's JS)."""
    return {**{str(k): v for k, v in PATHS.items()}, "": GENERIC}
