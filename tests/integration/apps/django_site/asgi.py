"""The site's ``asgi.py``: the README's recipe, as a Django user writes it."""

from __future__ import annotations

import os

from tests.integration.recipes import run_recipe

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.integration.apps.django_site.settings")
run_recipe("django-asgi", globals())  # application = ConsentMiddleware(get_asgi_application())
