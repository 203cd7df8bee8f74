"""Migrate the integration site's SQLite database and add a superuser (run once per session)."""

from __future__ import annotations

import os

import django
from django.core.management import call_command

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.integration.apps.django_site.settings")
ADMIN_USER = "admin"
ADMIN_PASSWORD = "integration-admin-password"

if __name__ == "__main__":
    django.setup()
    from django.contrib.auth import get_user_model

    call_command("migrate", verbosity=0, interactive=False)
    get_user_model().objects.create_superuser(ADMIN_USER, "admin@example.com", ADMIN_PASSWORD)
