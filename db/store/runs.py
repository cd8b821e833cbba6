"""Sources, runs, the HTTP cache and seed imports: what the scheduler and the fetcher keep between runs."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from db import owners
from db.health import health_flags
from db.store.base import StoreBase
from monitor.core import dates
from monitor.core.errors import DATABASE_ERROR_CLASSES


class Runs(StoreBase):
    """The ``sources``, ``runs``, ``http_cache`` and ``seed_imports`` tables."""

    # --- sources and runs --------------------------------------------------------------------------------

    def sync_sources(self, sources: Iterable) -> None:
        """Mirror the configured sources into ``sources``; rows of removed sources are kept, marked in_config=0."""
        sources = list(sources)
        with self._writing():
            self.conn.execute("UPDATE sources SET in_config = 0")
            for source in sources:
                self.conn.execute(
                    """INSERT INTO sources (name, kind, url, schedule, topics, enabled, in_config)
                       VALUES (?, ?, ?, ?, ?, ?, 1)
                       ON CONFLICT(name) DO UPDATE SET kind=excluded.kind, url=excluded.url,
                         schedule=excluded.schedule, topics=excluded.topics, enabled=excluded.enabled, in_config=1""",
                    (source.name, source.kind, " ".join(source.start_urls), source.schedule,
                     json.dumps(list(source.topics), ensure_ascii=False), int(source.enabled)),
                )

    def set_next_run(self, source: str, when: datetime | None) -> None:
        with self._writing():
            self.conn.execute(
                "UPDATE sources SET next_run_at = ? WHERE name = ?",
                (dates.iso(when.astimezone(self.zone)) if when else None, source),
            )

    def set_backoff(self, source: str, until: datetime | None) -> None:
        with self._writing():
            self.conn.execute(
                "UPDATE sources SET backoff_until = ? WHERE name = ?",
                (dates.iso(until.astimezone(self.zone)) if until else None, source),
            )

    def backoffs(self) -> dict[str, datetime]:
        """Each backed-off source's ``backoff_until``: a restart must not retry it sooner."""
        with self._lock:
            rows = self.conn.execute("SELECT name, backoff_until FROM sources WHERE backoff_until IS NOT NULL")
            return {name: datetime.fromisoformat(until) for name, until in rows}   # stored with their offset

    def start_run(self, source: str) -> int:
        with self._writing():
            cursor = self.conn.execute(
                "INSERT INTO runs (source, started_at, status, owner) VALUES (?, ?, 'running', ?)",
                (source, self._now_ms(), str(self.owner)),
            )
            self.open_runs.add(cursor.lastrowid)
            return cursor.lastrowid

    def finish_run(self, run_id: int, *, status: str, items_seen: int = 0, items_new: int = 0,
                   http_status: int | None = None, error: str | None = None, error_class: str | None = None,
                   encoding: str | None = None, replaced_bytes: int = 0) -> int:
        """Close a run and update its source's health; returns the source's consecutive failures now.

        Failures are counted and reset by any success (a failure of the database itself, ``DATABASE_ERROR_CLASSES``,
        is not counted: the source did nothing wrong); the flags of ``db.health`` are recomputed. The run's times
        keep milliseconds (``elapsed_ms`` sorts the slow sources first); the source's stay to the second.
        """
        finished = self._now_ms()
        with self._writing():
            self.open_runs.discard(run_id)
            row = self.conn.execute("SELECT source, started_at FROM runs WHERE id = ?", (run_id,)).fetchone()
            elapsed = (datetime.fromisoformat(finished) - datetime.fromisoformat(row["started_at"])).total_seconds()
            self.conn.execute(
                """UPDATE runs SET finished_at=?, status=?, http_status=?, items_seen=?, items_new=?,
                   error=?, error_class=?, encoding=?, replaced_bytes=?, elapsed_s=?, elapsed_ms=? WHERE id=?""",
                (finished, status, http_status, items_seen, items_new, error, error_class, encoding, replaced_bytes,
                 round(elapsed, 3), round(elapsed * 1000), run_id),
            )
            # The source's own times stay to the second, like every other timestamp but the run's.
            finished, started = (dates.iso(datetime.fromisoformat(value)) for value in (finished, row["started_at"]))
            if status == "error" and error_class in DATABASE_ERROR_CLASSES:
                # The database failed, not the source: its failures in a row and its backoff stay as they were.
                self.conn.execute(
                    "UPDATE sources SET last_run_at=?, last_status=?, last_error=?, last_error_class=? WHERE name=?",
                    (finished, status, error, error_class, row["source"]),
                )
            elif status == "error":
                self.conn.execute(
                    """UPDATE sources SET last_run_at=?, last_status=?, last_error=?, last_error_class=?,
                       consecutive_failures = consecutive_failures + 1 WHERE name=?""",
                    (finished, status, error, error_class, row["source"]),
                )
            else:
                self.conn.execute(
                    """UPDATE sources SET last_run_at=?, last_success_at=?, last_status=?, last_error=NULL,
                       last_error_class=NULL, consecutive_failures=0, items_found = items_found + ?,
                       last_new_at = CASE WHEN ? > 0 THEN ? ELSE last_new_at END WHERE name=?""",
                    (finished, finished, status, items_new, items_new, started, row["source"]),
                )
            return self._update_flags(row["source"])

    def _now_ms(self) -> str:
        return dates.iso_ms(datetime.now(self.zone))

    def _update_flags(self, source: str) -> int:
        state = self.conn.execute(
            "SELECT consecutive_failures, last_error_class, items_found FROM sources WHERE name = ?", (source,)
        ).fetchone()
        if state is None:       # a pseudo-source such as 'seed'
            return 0
        new_item_times = [
            datetime.fromisoformat(r[0]) for r in self.conn.execute(
                "SELECT started_at FROM runs WHERE source = ? AND items_new > 0 ORDER BY id DESC LIMIT 20", (source,))
        ]
        flags = health_flags(consecutive_failures=state["consecutive_failures"],
                             last_error_class=state["last_error_class"], ever_found_items=state["items_found"] > 0,
                             new_item_times=new_item_times, now=datetime.now(self.zone))
        self.conn.execute("UPDATE sources SET flags = ? WHERE name = ?", (", ".join(flags), source))
        return state["consecutive_failures"]

    def _close_interrupted_runs(self) -> None:
        """Runs left 'running' by a process that is gone (killed, crashed) are closed as errors, so status never
        shows a ghost run; those of a live process (the service beside this ``once``) are its own to finish
        (``db.owners``). Read first: with no ghost run, as almost always, nothing is written."""
        now = datetime.now(self.zone)
        with self._lock:
            running = self.conn.execute("SELECT id, owner, started_at FROM runs WHERE status = 'running'").fetchall()
        gone = [row["id"] for row in running
                if owners.is_gone(owners.Owner.parse(row["owner"]), age=now - _started(row["started_at"], now))]
        if not gone:
            return
        with self._writing():
            self.conn.executemany(
                """UPDATE runs SET status='error', error_class='interrupted', finished_at=?,
                   error='the monitor stopped before this run finished' WHERE id = ? AND status='running'""",
                [(self._now_ms(), run_id) for run_id in gone],
            )

    def close_for_exit(self, reason: str) -> list[tuple[int, str]]:
        """As the process ends with runs in flight (``once`` stopped by a signal): close this process's open runs
        as ``interrupted`` (others' runs are left alone), then the connection; returns (run id, source) of each.

        The lock is taken and kept, so no thread writes after: the caller ends the process next. A batch being
        written finishes first (it holds the lock), so nothing is half stored.
        """
        self._lock.acquire()
        closed = []
        if self.open_runs:
            ids = sorted(self.open_runs)
            with self.conn:
                closed = [tuple(row) for row in self.conn.execute(
                    f"SELECT id, source FROM runs WHERE status = 'running' AND id IN ({','.join('?' * len(ids))})",
                    ids)]
                self.conn.executemany(
                    "UPDATE runs SET status='error', error_class='interrupted', finished_at=?, error=? WHERE id=?",
                    [(self._now_ms(), reason, run_id) for run_id, _ in closed])
            self.open_runs.clear()
        self._closer()
        return closed

    # --- conditional GET state ---------------------------------------------------------------------------

    def http_cache(self, source: str, url: str) -> tuple[str | None, str | None, list[str]]:
        """ETag, Last-Modified and the URLs the page listed when ``source`` last read ``url``.

        Per source: another source's validators would make the server answer 304 to a version this one never read.
        """
        with self._lock:   # the connection is shared by the scheduler's threads: reads take the lock too
            row = self.conn.execute(
                "SELECT etag, last_modified, discovered FROM http_cache WHERE source = ? AND url = ?", (source, url)
            ).fetchone()
        if not row:
            return None, None, []
        return row["etag"], row["last_modified"], json.loads(row["discovered"] or "[]")

    def page_memory(self, source: str, url: str) -> tuple[str | None, list[int]]:
        """The digest of the body ``source`` last read at ``url`` and the sightings that read recorded
        (``db.store.repeats``); (None, []) when there is none to reuse."""
        with self._lock:
            row = self.conn.execute(
                "SELECT body_digest, sightings FROM http_cache WHERE source = ? AND url = ?", (source, url)
            ).fetchone()
        if not row or not row["body_digest"]:
            return None, []
        return row["body_digest"], json.loads(row["sightings"] or "[]")

    def remember_http_cache(self, source: str, url: str, etag: str | None, last_modified: str | None,
                            discovered: list[str] | None = None, body_digest: str | None = None,
                            sightings: list[int] | None = None) -> None:
        """What the page answered (validators, listed URLs) and, with ``body_digest``, the sightings its read
        recorded. Nothing to remember leaves an earlier row as it was: its digest still names bytes whose read
        recorded those sightings."""
        if not etag and not last_modified and not body_digest:
            return
        with self._writing():
            self.conn.execute(
                "INSERT OR REPLACE INTO http_cache (source, url, etag, last_modified, discovered, updated_at, "
                "body_digest, sightings) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (source, url, etag, last_modified, json.dumps(discovered or [], ensure_ascii=False), self.now(),
                 body_digest, json.dumps(sightings) if body_digest else None),
            )

    # --- seed imports ------------------------------------------------------------------------------------

    def seed_imported(self, sha256: str) -> bool:
        with self._lock:
            return self.conn.execute("SELECT 1 FROM seed_imports WHERE sha256 = ?", (sha256,)).fetchone() is not None

    def record_seed_import(self, sha256: str, path: str, items: int, run_id: int) -> None:
        with self._writing():
            self.conn.execute(
                "INSERT OR IGNORE INTO seed_imports (sha256, path, imported_at, items, run_id) VALUES (?, ?, ?, ?, ?)",
                (sha256, path, self.now(), items, run_id),
            )


def _started(started_at: str | None, now: datetime) -> datetime:
    """A run's start as stored (with its offset); ``now`` for a value that cannot be read (it is then not old)."""
    try:
        return datetime.fromisoformat(started_at or "")
    except ValueError:
        return now
