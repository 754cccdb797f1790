"""Admin Settings shows one date format everywhere: 2026-12-07 17:00 CET (ISO order, 24 hours,
the zone named), the same as the pages that format moments themselves (accounts/moments.py)."""

DATE_FORMAT = "Y-m-d"
DATETIME_FORMAT = "Y-m-d H:i T"
SHORT_DATE_FORMAT = "Y-m-d"
SHORT_DATETIME_FORMAT = "Y-m-d H:i T"
TIME_FORMAT = "H:i"
