from django.urls import path

from sso import views

app_name = "sso"

urlpatterns = [
    path("<slug:slug>/metadata/", views.SPMetadataView.as_view(), name="metadata"),
    path("<slug:slug>/acs/", views.ACSView.as_view(), name="acs"),
    path("<slug:slug>/login/", views.SPLoginView.as_view(), name="login"),
    path("<slug:slug>/sls/", views.SingleLogoutView.as_view(), name="sls"),
    path("<slug:slug>/sls/confirm/", views.ConfirmLogoutView.as_view(), name="sls_confirm"),
]
