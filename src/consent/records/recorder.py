"""`Recorder`: turns each decision into a record and gets it to the store, come what may.

The decision request waits at most ``timeout_seconds`` for the store. If the
store is slow or down, the record goes to the durable spool instead and a
background task delivers it later, in order. Once anything is spooled, newer
records queue behind it until the spool is empty again, so records reach the
store in the order they were made.

Outages and data errors are told apart. A store that cannot be reached or does
not answer is an outage: the record waits in the spool. A record that cannot be
built, or that the store refuses for its data (`RecordDataError`), would fail
the same way on every retry: it is never spooled, the store is not marked down,
and `Recorder.record` raises, so the decision is refused rather than taking
effect without its record. Nothing else raises into a request.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
from typing import TYPE_CHECKING

import anyio

from consent.records.base import RecordStore, open_store
from consent.records.model import (
    USER_AGENT_LENGTH,
    ConsentRecord,
    RecordDataError,
    record_from_decision,
)
from consent.records.spool import Spool, SpoolEntry

if TYPE_CHECKING:
    from consent.endpoints import Decision
    from consent.settings import ConsentSettings, RecordsSettings

__all__ = [
    "LOG_DEFAULT_LOCATION",
    "LOG_DELIVERED",
    "LOG_LOCATION",
    "LOG_LOST",
    "LOG_REFUSED",
    "LOG_REJECTED",
    "LOG_SPOOLED",
    "LOG_STORE_DOWN",
    "Recorder",
    "recorder_for",
]

logger = logging.getLogger("consent.records")

LOG_STORE_DOWN = "records store %s unavailable (%s); spooling records to %s"
LOG_SPOOLED = "record %s spooled (%s)"
LOG_DELIVERED = "records store %s is back: delivered %d spooled record(s)"
LOG_LOST = "record could not be stored nor spooled, logged here instead: %s"
LOG_DRAIN_FAILED = "delivering spooled records failed (%s); retrying in %.1f s"
#: Only the reason is logged: a `RecordDataError` names a field, never its value.
LOG_REFUSED = "consent record refused for its data (%s): neither stored nor spooled"
LOG_REJECTED = (
    "spooled record %s refused by the store for its data (%s): "
    "moved aside to the rejected table of %s"
)

LOG_LOCATION = "consent records go to %s (spool: %s)"
LOG_DEFAULT_LOCATION = (
    "consent records go to the default location %s (spool: %s); set records.url "
    "(CONSENT_RECORDS__URL) to keep them where you choose"
)

#: The background task's own time budget per batch (it blocks no visitor).
_DRAIN_TIMEOUT = 10.0
#: How many distinct text versions are remembered as already stored.
_KNOWN_TEXTS_LIMIT = 1024


#: Locations already announced in this process (each is logged once).
_announced: set[tuple[str, str]] = set()


def _announce_location(store: RecordStore, spool: Spool, *, default: bool) -> None:
    """Say once where records go: a warning for the unconfigured default, else info.

    The store's display URL never holds a password (`redact_url`).
    """
    key = (store.display_url, str(spool.directory))
    if key in _announced:
        return
    _announced.add(key)
    if default:
        logger.warning(LOG_DEFAULT_LOCATION, store.display_url, spool.directory)
    else:
        logger.info(LOG_LOCATION, store.display_url, spool.directory)


def recorder_for(settings: ConsentSettings) -> Recorder | None:
    """The recorder the middleware uses, or None when records are switched off."""
    if not settings.records.enabled:
        return None
    return Recorder(settings.records)


class Recorder:
    """Writes one record per decision; the middleware's ``on_decision`` hook.

    Starts lazily on the first decision (lifespan is optional for ASGI servers)
    or explicitly with `start`; `stop` delivers what it can and leaves the rest
    in the spool for the next start. One event loop per running recorder.

    Recorder.record raises RecordDataError only for a record that could be stored
    nowhere; the caller must then refuse the decision (no decision without its
    record). Store outages never raise: the record is spooled.
    """

    def __init__(
        self,
        settings: RecordsSettings,
        *,
        store: RecordStore | None = None,
        user_agent_length: int = USER_AGENT_LENGTH,
        retry_initial: float = 0.5,
        retry_max: float = 30.0,
        poll_interval: float = 5.0,
        batch_size: int = 100,
        stop_timeout: float = 5.0,
    ) -> None:
        self.settings = settings
        if store is None:
            store = open_store(settings.store_url, make_directory=settings.default_location)
        self.store = store
        self.spool = Spool(settings.spool_path)
        _announce_location(self.store, self.spool, default=settings.default_location)
        self.timeout = settings.timeout_seconds
        self._user_agent_length = user_agent_length
        self._retry_initial = retry_initial
        self._retry_max = retry_max
        self._poll_interval = poll_interval
        self._batch_size = batch_size
        self._stop_timeout = stop_timeout
        self._known_texts: set[str] = set()
        self._started = False
        self._starting: anyio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._task: asyncio.Task[None] | None = None
        self._wake: asyncio.Event | None = None
        self._spool_ok = False
        #: True while this process has spooled records not yet delivered: new ones queue behind.
        self._backlog = False
        self._appended = 0  # bumped on every spool append, to detect races with the drainer
        self._store_down = False
        self._inflight = 0
        self._idle: anyio.Event | None = None  # set by the last in-flight record() during stop()

    # -- the hook ---------------------------------------------------------------------------

    async def record(self, decision: Decision) -> None:
        """Record one decision: the store within the timeout, else the spool.

        Raises `RecordDataError` when the record cannot be built or the store refuses
        its data (logged once, at error level, without personal data).
        """
        try:
            record, canonical = record_from_decision(
                decision, user_agent_length=self._user_agent_length
            )
        except RecordDataError as exc:
            logger.error(LOG_REFUSED, exc)
            raise
        except Exception as exc:  # a bug or a malformed decision: no record, so no decision
            error = RecordDataError(f"the record could not be built ({type(exc).__name__})")
            logger.error(LOG_REFUSED, error)
            raise error from exc
        self._inflight += 1
        try:
            await self.start()
            if self._backlog and self._task is None:
                # No background task (not asyncio): deliver the backlog inline, within budget.
                with anyio.move_on_after(self.timeout), contextlib.suppress(Exception):
                    await self.drain()
            if not self._backlog and await self._try_store(record, canonical):
                return
            await self._spool(record, canonical)
        except RecordDataError as exc:
            logger.error(LOG_REFUSED, exc)
            raise
        except Exception:
            logger.exception(LOG_LOST, json.dumps(record.to_dict()))
        finally:
            self._inflight -= 1
            if not self._inflight and self._idle is not None:
                self._idle.set()

    async def _try_store(self, record: ConsentRecord, canonical: str) -> bool:
        with anyio.move_on_after(self.timeout):
            try:
                await self.store.open()
                await self._put_texts(record.texts_hash, canonical)
                await self.store.write([record])
            except RecordDataError:
                raise  # the data, not the store: spooling would only postpone the refusal
            except Exception as exc:  # any other store failure means: spool it
                self._note_down(exc)
                return False
            self._note_up(0)
            return True
        self._note_down(TimeoutError(f"no answer within {self.timeout:g} s"))
        return False

    async def _put_texts(self, digest: str, canonical: str) -> None:
        if digest in self._known_texts:
            return
        try:
            texts = json.loads(canonical)
        except ValueError:
            raise RecordDataError("texts: not JSON") from None
        await self.store.put_texts(digest, texts)
        if len(self._known_texts) >= _KNOWN_TEXTS_LIMIT:
            self._known_texts.clear()
        self._known_texts.add(digest)

    async def _spool(self, record: ConsentRecord, canonical: str) -> None:
        if not self._spool_ok:
            await self._open_spool()
        texts = None if record.texts_hash in self._known_texts else canonical
        self._appended += 1
        self._backlog = True
        await self.spool.append([SpoolEntry(record, texts)])
        logger.debug(LOG_SPOOLED, record.record_id, self.spool.path)
        if self._wake is not None:
            self._wake.set()

    def _note_down(self, exc: BaseException) -> None:
        if not self._store_down:
            self._store_down = True
            logger.warning(LOG_STORE_DOWN, self.store.display_url, exc, self.spool.path)

    def _note_up(self, delivered: int) -> None:
        if self._store_down:
            self._store_down = False
            logger.warning(LOG_DELIVERED, self.store.display_url, delivered)

    # -- lifecycle --------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the spool and start the background delivery task (idempotent, never raises)."""
        loop = _running_asyncio_loop()
        if self._started and loop is self._loop:
            return
        if self._starting is not None:
            await self._starting.wait()
            return
        self._starting = anyio.Event()
        try:
            if self._started:
                # The loop it ran on has gone (a test client, a reload): begin afresh on this one.
                self._abandon()
            self._loop = loop
            with contextlib.suppress(Exception):  # logged; record() retries, the store may work
                await self._open_spool()
            if loop is not None:
                self._wake = asyncio.Event()
                self._task = loop.create_task(self._deliver_forever(), name="consent-records")
            self._started = True
        finally:
            self._starting.set()
            self._starting = None

    async def _open_spool(self) -> None:
        try:
            await self.spool.open()
            pending = await self.spool.count()
        except Exception:
            logger.exception("records spool at %s is unusable", self.spool.path)
            self._spool_ok = False
            raise
        self._spool_ok = True
        if pending:
            self._backlog = True

    def _abandon(self) -> None:
        self._task = None
        self._wake = None
        self._started = False

    async def stop(self) -> None:
        """Let in-flight decisions finish, deliver what the spool holds (bounded), close."""
        if not self._started:
            return
        if self._inflight:
            self._idle = anyio.Event()
            with anyio.move_on_after(self._stop_timeout):
                await self._idle.wait()
            self._idle = None
        task, self._task = self._task, None
        if task is not None and not task.done():
            task.cancel()
            if task.get_loop() is _running_asyncio_loop():  # else its loop has gone already
                await asyncio.wait({task})
        with anyio.move_on_after(self._stop_timeout):
            try:
                await self.drain()
            except Exception as exc:  # whatever is left stays spooled
                logger.warning("records left in the spool at shutdown (%s)", exc)
        for closing in (self.store.close, self.spool.close):
            try:
                await closing()
            except Exception as exc:  # shutting down; nothing left to protect
                logger.warning("closing records %s failed: %s", closing.__qualname__, exc)
        self._spool_ok = False
        self._started = False
        self._wake = None

    # -- delivery ---------------------------------------------------------------------------

    async def drain(self) -> int:
        """Deliver spooled records in order until the spool is empty; return how many.

        Raises what the store raises for an outage; entries leave the spool only once
        confirmed. An entry the store refuses for its data is moved aside (see `Spool`)
        with an error log, so it cannot hold up the spool for ever.
        """
        delivered = 0
        while True:
            appended = self._appended
            entries = await self.spool.peek(self._batch_size)
            if not entries:
                if self._appended == appended:
                    self._backlog = False
                return delivered
            budget = max(_DRAIN_TIMEOUT, self.timeout)
            with anyio.fail_after(budget):
                await self.store.open()
                try:
                    await self._deliver(entries)
                    refused = False
                except RecordDataError:
                    refused = True
            if refused:
                # One batch is one transaction: find the refused entries one at a time.
                with anyio.fail_after(budget):
                    delivered += await self._deliver_singly(entries)
            else:
                await self.spool.remove(entries)
                delivered += len(entries)
            self._note_up(delivered)

    async def _deliver(self, entries: list[SpoolEntry]) -> None:
        for entry in entries:
            if entry.texts is not None:
                await self._put_texts(entry.record.texts_hash, entry.texts)
        await self.store.write([entry.record for entry in entries])

    async def _deliver_singly(self, entries: list[SpoolEntry]) -> int:
        delivered = 0
        for entry in entries:
            try:
                await self._deliver([entry])
            except RecordDataError as exc:
                await self.spool.reject(entry, str(exc))
                logger.error(LOG_REJECTED, entry.record.record_id, exc, self.spool.path)
                continue
            await self.spool.remove([entry])
            delivered += 1
        return delivered

    async def _deliver_forever(self) -> None:
        """The background task: drain, back off on failure, wait for news when idle."""
        with contextlib.suppress(Exception):
            await self.store.open()  # warm up, so the first decision does not pay for it
        delay = self._retry_initial
        while True:
            wake = self._wake
            if wake is None:
                return
            wake.clear()
            try:
                await self.drain()
            except Exception as exc:  # keep trying; the records are safe on disk
                self._note_down(exc)
                pause = delay * (0.5 + random.random())  # noqa: S311 - jitter, not crypto
                logger.debug(LOG_DRAIN_FAILED, exc, pause)
                await asyncio.sleep(pause)
                delay = min(delay * 2, self._retry_max)
                continue
            delay = self._retry_initial
            # Poll now and then too: another process may share the spool directory.
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(wake.wait(), self._poll_interval)

    @property
    def backlog(self) -> bool:
        """Whether records made here wait in the spool."""
        return self._backlog


def _running_asyncio_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None
