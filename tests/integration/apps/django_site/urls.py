"""URLs: the shared integration routes, then the admin (``/admin/tracker`` comes first)."""

from __future__ import annotations

from django.contrib import admin
from django.urls import path

from tests.integration.apps.django_site import views

urlpatterns = [
    path("page", views.page),
    path("admin/tracker", views.page),
    path("cookies", views.cookies),
    path("json", views.json_body),
    path("stream", views.stream),
    path("stream.txt", views.stream_text),
    path("admin/", admin.site.urls),
]
