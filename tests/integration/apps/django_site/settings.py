"""Django settings of the integration site; TEMPLATES is the README's recipe.

The database is a temporary SQLite file the test fixture migrates
(``CONSENT_TEST_DJANGO_DB``).
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.integration.recipes import run_recipe

BASE_DIR = Path(__file__).resolve().parent

SECRET_KEY = "django-insecure-integration-tests-only-0123456789"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]
ROOT_URLCONF = "tests.integration.apps.django_site.urls"

run_recipe("django-settings", globals())  # TEMPLATES, with the consent context processor

DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("CONSENT_TEST_DJANGO_DB", ":memory:"),
    }
}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
STATIC_URL = "static/"
