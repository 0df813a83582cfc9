"""Writing new audit rows after the chain head, the head locked until the commit.

Every writer waits for that lock, so what runs while it is held decides how many saves a
second the whole application can make. On PostgreSQL one statement does it all: it waits
for the head, hashes the rows in order in the database (sha256 over the text the domain
prepared, `chain_tail`), inserts them in that order (so their ids follow the chain) and
moves the head; the transaction's commit is the only other step under the lock. SQLite has
one writer at a time anyway: the rows are hashed here and inserted with executemany.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, insert, select, text, update

from app.audit.models import AuditChain, AuditEvent
from app.domain.audit import GENESIS, chain_hash, chain_tail

HEAD = AuditChain.__table__
ROWS = AuditEvent.__table__
FIELDS = ("occurred_at", "actor_id", "action", "entity_type", "entity_id", "site_id", "field",
          "old_value", "new_value", "reason")  # AuditEvent.chained_fields, in its order
TYPES = {"occurred_at": "timestamptz", "actor_id": "integer", "entity_id": "integer",
         "site_id": "integer"}  # the others are text

Row = Mapping[str, Any]  # the FIELDS of one audit row


def _append_sql() -> str:
    names = ", ".join(FIELDS)
    columns = ", ".join(f"{f} {TYPES.get(f, 'text')}" for f in FIELDS)
    return f"""
WITH RECURSIVE
head AS (SELECT last_hash FROM audit_chain WHERE id = 1 FOR UPDATE),
input AS (SELECT * FROM json_to_recordset(CAST(:rows AS json))
          AS t(n bigint, {columns}, tail text)),
chained (n, prev_hash, row_hash) AS (
    SELECT CAST(0 AS bigint), CAST(NULL AS text), CAST(last_hash AS text) FROM head
  UNION ALL
    SELECT i.n, c.row_hash,
           encode(sha256(convert_to('["' || c.row_hash || '",' || i.tail, 'UTF8')), 'hex')
    FROM chained AS c JOIN input AS i ON i.n = c.n + 1),
added AS (
  INSERT INTO audit_events ({names}, prev_hash, row_hash)
  SELECT {", ".join(f"i.{f}" for f in FIELDS)}, c.prev_hash, c.row_hash
  FROM input AS i JOIN chained AS c ON c.n = i.n ORDER BY i.n
  RETURNING id)
UPDATE audit_chain SET last_hash = (SELECT row_hash FROM chained ORDER BY n DESC LIMIT 1)
WHERE id = 1
RETURNING (SELECT count(*) FROM added)"""


APPEND = text(_append_sql())


def in_database(conn: Connection, rows: Sequence[Row]) -> None:
    """PostgreSQL: lock, hash, insert and move the head in one statement."""
    payload = json.dumps([_json_row(n, row) for n, row in enumerate(rows, start=1)],
                         ensure_ascii=False)
    added = conn.execute(APPEND, {"rows": payload}).scalar()
    if added is None:  # no head row yet (a database built without the migrations)
        conn.execute(insert(HEAD).values(id=1, last_hash=GENESIS))
        added = conn.execute(APPEND, {"rows": payload}).scalar()
    if added != len(rows):
        raise RuntimeError(f"audit chain: {added} of {len(rows)} rows appended")


def _json_row(n: int, row: Row) -> dict[str, Any]:
    fields = [row[f] for f in FIELDS]
    return {**row, "n": n, "occurred_at": row["occurred_at"].isoformat(),
            "tail": chain_tail(fields)}


def in_python(conn: Connection, rows: Sequence[Row]) -> None:
    """SQLite (which holds its one write lock already): hash here, executemany, move the head."""
    previous = conn.scalar(select(HEAD.c.last_hash).where(HEAD.c.id == 1))
    if previous is None:
        conn.execute(insert(HEAD).values(id=1, last_hash=GENESIS))
    previous = previous or GENESIS
    values = []
    for row in rows:
        fields = {f: row[f] for f in FIELDS}
        row_hash = chain_hash(previous, list(fields.values()))
        values.append({**fields, "prev_hash": previous, "row_hash": row_hash})
        previous = row_hash
    conn.execute(insert(ROWS), values)
    conn.execute(update(HEAD).where(HEAD.c.id == 1).values(last_hash=previous))
