"""The project's URLs plus a SCIM-shaped view that reads the database, for the fault tests."""

from django.http import HttpRequest, JsonResponse
from django.urls import path

from accounts.models import User
from config.urls import urlpatterns as project_urlpatterns


def list_users(request: HttpRequest) -> JsonResponse:
    return JsonResponse({"totalResults": User.objects.count()})


urlpatterns = [path("scim/v2/Users", list_users), *project_urlpatterns]
