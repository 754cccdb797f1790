"""django-scim2's user filter (scim2-filter-parser's SQL) on our column names."""

from django_scim.filters import UserFilterQuery


class StockUserFilterQuery(UserFilterQuery):
    # Stock's map with our columns; no `active`: our User has a status, not an is_active column.
    attr_map = {
        ("userName", None, None): "scim_user_name",
        ("name", "familyName", None): "family_name",
        ("familyName", None, None): "family_name",
        ("name", "givenName", None): "given_name",
        ("givenName", None, None): "given_name",
    }
