"""Framework-native helpers around `ConsentMiddleware`.

One module per framework: ``litestar`` (a plugin: Litestar runs middleware only for
matched routes), ``fastapi`` (a dependency), ``django`` (a template context
processor) and ``jinja`` (a template global). Each imports its framework only when
it is itself imported, so ``import consent`` never needs any of them.
"""
