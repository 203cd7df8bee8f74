"""Proof-of-consent records (SPEC section 7): one record per decision, kept in a store.

`Recorder` is what the middleware calls; `open_store` gives the store for a URL
(SQLite embedded, PostgreSQL with the ``postgres`` extra); the model functions
show exactly what is kept about a visitor and what is not. `RecordDataError`
means a record no store can keep: the decision it belongs to must be refused.
"""

from consent.records.base import (
    SCHEMA_VERSION,
    CategoryStats,
    RecordStats,
    RecordStore,
    SchemaError,
    StoreError,
    open_store,
)
from consent.records.model import (
    ConsentRecord,
    RecordDataError,
    anonymise_ip,
    canonical_texts,
    check_storable,
    record_from_decision,
    texts_hash,
    truncate_user_agent,
)
from consent.records.recorder import Recorder, recorder_for
from consent.records.spool import Spool

__all__ = [
    "SCHEMA_VERSION",
    "CategoryStats",
    "ConsentRecord",
    "RecordDataError",
    "RecordStats",
    "RecordStore",
    "Recorder",
    "SchemaError",
    "Spool",
    "StoreError",
    "anonymise_ip",
    "canonical_texts",
    "check_storable",
    "open_store",
    "record_from_decision",
    "recorder_for",
    "texts_hash",
    "truncate_user_agent",
]
