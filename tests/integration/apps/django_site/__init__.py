"""A real Django project (admin, auth, sessions, messages) served through the middleware."""
