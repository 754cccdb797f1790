from tests.provisioning import conftest as scim_fixtures

# The SCIM suite's client, key and main office: the key cache is tested through the SCIM door.
api_key = scim_fixtures.api_key
scim = scim_fixtures.scim
main_office = scim_fixtures.main_office
