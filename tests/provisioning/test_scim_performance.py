from accounts.models import User


def test_list_query_count_does_not_grow_with_page_size(
    scim, company, django_assert_max_num_queries
):
    User.objects.bulk_create(
        User(company=company, email=f"p{i}@acme.example", scim_user_name=f"p{i}") for i in range(60)
    )
    with django_assert_max_num_queries(4):
        small = scim.get("Users?count=2")
    with django_assert_max_num_queries(4):
        large = scim.get("Users?count=60")
    assert small.body["itemsPerPage"] == 2
    assert large.body["itemsPerPage"] == 60
    with django_assert_max_num_queries(2):
        scim.get('Users?filter=userName eq "p7"')
