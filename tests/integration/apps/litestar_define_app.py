"""Litestar wired the way that cannot work: ``DefineMiddleware(ConsentMiddleware)``.

The middleware must say so at start-up (one warning naming ConsentPlugin); the matrix
checks the warning and the 404 it warns about.
"""

from __future__ import annotations

from litestar import Litestar, MediaType, get
from litestar.middleware import DefineMiddleware

from consent import ConsentMiddleware
from tests.integration.apps import common


@get("/page", media_type=MediaType.HTML)
async def page() -> str:
    return common.page(None)


app = Litestar(route_handlers=[page], middleware=[DefineMiddleware(ConsentMiddleware)])
