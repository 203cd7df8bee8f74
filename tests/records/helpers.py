"""Builders shared by the records tests: decisions, records, a store that fails on demand,
and a recorder of the test's own in the middleware's place."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta, timezone
from typing import Any

import anyio
from starlette.types import ASGIApp

from consent import ConsentMiddleware, ConsentSettings
from consent.decision import Method
from consent.endpoints import Decision
from consent.records import ConsentRecord, Recorder, RecordStore, StoreError, texts_hash
from consent.records.base import RecordStats
from consent.records.model import new_record_id
from consent.state import Consent

SECRET = "x" * 32
TEXTS = {"category.analytics.label": "Analytics", "banner.title": "Cookies?"}
T0 = datetime(2025, 1, 1, 12, 0, tzinfo=timezone.utc)


def make_decision(
    *,
    consent_id: str = "visitor-1",
    method: Method = Method.ACCEPT_ALL,
    granted: Sequence[str] = ("necessary", "analytics"),
    denied: Sequence[str] = ("marketing",),
    client: tuple[str, int] | None = ("203.0.113.77", 5000),
    user_agent: str = "Mozilla/5.0 test",
    path: str = "/page",
    texts: Mapping[str, str] = TEXTS,
    gpc: bool = False,
    when: datetime | None = None,
    services: Sequence[str] = (),
    jurisdiction: str = "",
    policy: str = "",
    variant: str = "",
) -> Decision:
    consent = Consent(
        id=consent_id,
        revision=1,
        granted=frozenset(granted),
        denied=frozenset(denied),
        decided=True,
        given_at=when or datetime.now(timezone.utc),
        gpc=gpc,
        services=frozenset(services),
    )
    scope: dict[str, Any] = {
        "type": "http",
        "headers": [(b"user-agent", user_agent.encode("latin-1"))],
        "client": client,
    }
    return Decision(
        consent,
        method,
        "en",
        path,
        scope,
        texts,
        jurisdiction=jurisdiction,
        policy=policy,
        variant=variant,
    )


def make_record(
    index: int = 0,
    *,
    consent_id: str | None = None,
    when: datetime | None = None,
    method: str = "accept_all",
    granted: Sequence[str] = ("analytics", "necessary"),
    denied: Sequence[str] = ("marketing",),
    user_agent: str | None = "Mozilla/5.0",
    services: Sequence[str] = (),
    jurisdiction: str = "",
    policy: str = "",
    variant: str = "",
) -> ConsentRecord:
    return ConsentRecord(
        record_id=new_record_id(),
        consent_id=consent_id or f"visitor-{index}",
        recorded_at=when or T0 + timedelta(minutes=index),
        revision=1,
        granted=tuple(granted),
        denied=tuple(denied),
        method=method,
        locale="en",
        texts_hash=texts_hash(TEXTS),
        path=f"/page/{index}",
        user_agent=user_agent,
        ip_prefix="203.0.113.0/24",
        gpc=False,
        services=tuple(services),
        jurisdiction=jurisdiction,
        policy=policy,
        variant=variant,
    )


class FlakyStore(RecordStore):
    """Wraps a real store; ``down`` makes every call fail, ``delay`` makes writes slow."""

    def __init__(self, inner: RecordStore) -> None:
        self.inner = inner
        self.display_url = "flaky+" + inner.display_url
        self.down = False
        self.delay = 0.0
        self.writes = 0
        self.texts_put = 0

    def _check(self) -> None:
        if self.down:
            raise StoreError("store is down (test)")

    async def open(self) -> None:
        self._check()
        await self.inner.open()

    async def close(self) -> None:
        await self.inner.close()

    async def schema_version(self) -> int:
        return await self.inner.schema_version()

    async def write(self, records: Sequence[ConsentRecord]) -> None:
        self._check()
        if self.delay:
            await anyio.sleep(self.delay)
        self._check()
        self.writes += 1
        await self.inner.write(records)

    async def put_texts(self, digest: str, texts: Mapping[str, str]) -> None:
        self._check()
        self.texts_put += 1
        await self.inner.put_texts(digest, texts)

    async def texts(self, digest: str) -> dict[str, str] | None:
        return await self.inner.texts(digest)

    def iter_records(
        self, since: Any = None, until: Any = None, *, batch_size: int = 1000, **filters: Any
    ) -> Any:
        return self.inner.iter_records(since, until, batch_size=batch_size, **filters)

    async def history(self, consent_id: str) -> list[ConsentRecord]:
        return await self.inner.history(consent_id)

    async def count(self, since: datetime | None = None, until: datetime | None = None) -> int:
        return await self.inner.count(since, until)

    async def prune(self, before: datetime) -> int:
        return await self.inner.prune(before)

    async def stats(
        self, since: datetime | None = None, until: datetime | None = None
    ) -> RecordStats:
        return await self.inner.stats(since, until)


def wire(middleware: ConsentMiddleware, recorder: Recorder) -> ASGIApp:
    """Make ``recorder`` the middleware's records writer (tests inject stores and timings).

    Ours takes the configured recorder's place in the endpoints' ``on_decision`` hooks
    (the documented way to swap it) and in the lifespan hook.
    """
    if middleware.recorder is not None:
        middleware.endpoints.on_decision.remove(middleware.recorder.record)
    middleware.endpoints.on_decision.append(recorder.record)
    middleware.recorder = recorder
    return middleware


def settings_with_records(**records: Any) -> ConsentSettings:
    values: dict[str, Any] = {"secret_key": SECRET, "records": records}
    return ConsentSettings(**values)


async def wait_until_drained(recorder: Recorder, limit: float = 20.0) -> None:
    """Wait for the background task to empty the spool (polled: the spool is on disk)."""
    with anyio.fail_after(limit):
        while recorder.backlog or await recorder.spool.count():  # noqa: ASYNC110
            await asyncio.sleep(0.02)
