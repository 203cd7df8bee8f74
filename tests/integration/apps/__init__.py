"""The apps of the integration matrix, one module per framework, each wired as its users wire it.

Every app serves the same things (see `common`): ``/page`` (a page with a Google tag and a
YouTube iframe), ``/admin/tracker`` (the same page under an excluded prefix: the control),
``/cookies`` (sets ``_ga`` and the framework's session cookie), ``/json``, ``/stream`` and
``/stream.txt`` (bodies sent in several chunks). The consent wiring of each app is the
README's recipe for that framework, extracted and executed (`tests.integration.recipes`).
"""
