"""The benchmark's stock reference: django-scim2 (PyPI `django-scim2`: its default views and
SCIMUser adapter) serving our users, measured by `make bench` with the same client, gunicorn,
database and machine as our SCIM server: the server a Django team would otherwise pick, measured
in the same run as ours.

Mounted at STOCK_SCIM_PATH only by the benchmark's own settings and URLs (benchmarks/settings.py,
benchmarks/urls.py), which only `make bench` loads; django-scim2 is in the `bench` dependency
group, which only `make bench` installs. Never reachable in production.

Not stock is only what our models need:
- Our User has none of the names SCIMUser reads and writes (`username`, `first_name`,
  `last_name`, `date_joined`, a settable `is_active`, AbstractSCIMUserMixin's `scim_id`,
  `scim_external_id`, `scim_username`): adapters.UserUnderStockNames maps them onto our fields,
  and the SCIM id is our primary key. That spares stock the mixin's UPDATE after each INSERT:
  a create here is one INSERT, so stock measures a little better than it would on its own model.
- Every user belongs to a company: the API key's, set on create and required of every user read
  through django-scim2's GET_EXTRA_MODEL_FILTER_KWARGS_GETTER (in SQL for a list or a GET by id;
  in Python over the rows a filter's SQL returns, as django-scim2 applies it).
- django-scim2 leaves authentication to the project (a middleware before its auth check sets
  request.user): adapters.APIKeyAuthCheck lets in one of our API keys, checked as ours checks it.
"""

# Where benchmarks/urls.py mounts django-scim2's views. Its adapter (adapters.py) and filter
# (filters.py) have modules of their own: importing this one imports nothing of django-scim2, and
# django-scim2 imports filters.py while it defines the SCIMUser that adapters.py subclasses.
STOCK_SCIM_PATH = "bench/stock/scim/v2/"
