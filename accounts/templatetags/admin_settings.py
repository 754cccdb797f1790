from django import template

from accounts.admin_site import SECTION_BY_SLUG, Section

register = template.Library()


@register.simple_tag
def section_trail(slug: str | None) -> list[Section]:
    """The sections from the top down to `slug`: [My Company, Authentication] for authentication."""
    trail: list[Section] = []
    section = SECTION_BY_SLUG.get(slug or "")
    while section is not None:
        trail.insert(0, section)
        section = SECTION_BY_SLUG.get(section.parent or "")
    return trail
