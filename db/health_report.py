"""Is the monitor doing its job? One report, read-only, for ``health`` (cron, systemd, monitoring) and the JSON
page in Datasette: when each source last succeeded, what is wrong with it, the database's size and last write.

A source has a problem when ``db.health`` flagged it (failing, selectors_broken, stale), when it has never run, or
when it is overdue: the service scheduled its next run (``sources.next_run_at``) more than OVERDUE_GRACE ago and no
run of it is in progress, which is what a stopped or stuck service looks like from the database. The report is
healthy when no source it covers has a problem. It takes a plain ``sqlite3`` connection (Datasette's included)
and writes nothing.
"""

from __future__ import annotations

import sqlite3
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

OVERDUE_GRACE = timedelta(minutes=30)   # a run may wait for a worker, jitter, a slow host
RUN_IN_PROGRESS_FOR = timedelta(hours=6)   # a 'running' row older than this is a killed process's, not a live run

_FLAG_PROBLEMS = {
    "failing": "failing: {failures} failures in a row (last: {error})",
    "selectors_broken": "selectors_broken: its selectors matched nothing on a source that used to give items "
                        "(the page layout changed?): fix sources[].select",
    "stale": "stale: nothing new for much longer than usual (last new item in a run started {last_new})",
}


@dataclass
class SourceHealth:
    name: str
    kind: str | None
    schedule: str | None
    enabled: bool
    last_run_at: str | None
    last_success_at: str | None
    last_status: str | None
    consecutive_failures: int
    flags: list[str]
    last_error: str | None
    next_run_at: str | None
    running_since: str | None
    problems: list[str] = field(default_factory=list)


@dataclass
class HealthReport:
    checked_at: str
    database: str
    database_bytes: int
    last_write_at: str | None
    sources: list[SourceHealth]

    @property
    def healthy(self) -> bool:
        return not any(source.problems for source in self.sources)

    @property
    def problems(self) -> list[str]:
        return [f"{source.name}: {problem}" for source in self.sources for problem in source.problems]

    def as_dict(self) -> dict:
        """JSON-ready: the fields, ``healthy`` and the list of ``problems``."""
        return {"healthy": self.healthy, **asdict(self), "problems": self.problems}


def health_report(conn: sqlite3.Connection, database: str | Path, *, sources: list[str] | None = None,
                  now: datetime | None = None) -> HealthReport:
    """The report on the database at ``database`` read through ``conn``.

    ``sources``: the names to judge (``health`` passes the enabled sources of config.yaml, so one added but never
    run counts); default, the rows still in the config and enabled as last synced (what Datasette knows).
    """
    now = now or datetime.now(UTC)
    rows = {row["name"]: row for row in _rows(conn, """
        SELECT name, kind, schedule, enabled, in_config, last_run_at, last_success_at, last_status,
               consecutive_failures, flags, last_error, next_run_at, last_new_at,
               (SELECT started_at FROM runs WHERE runs.source = sources.name AND status = 'running'
                ORDER BY id DESC LIMIT 1) AS running_since
        FROM sources""")}
    if sources is None:
        sources = sorted(name for name, row in rows.items() if row["in_config"] and row["enabled"])
    report = HealthReport(
        checked_at=now.isoformat(timespec="seconds"),
        database=str(database),
        database_bytes=sum(_size(Path(f"{database}{suffix}")) for suffix in ("", "-wal")),
        last_write_at=_rows(conn, "SELECT max(coalesce(finished_at, started_at)) AS last FROM runs")[0]["last"],
        sources=[_source_health(name, rows.get(name), now) for name in sources],
    )
    return report


def _source_health(name: str, row: dict | None, now: datetime) -> SourceHealth:
    if row is None:
        return SourceHealth(name=name, kind=None, schedule=None, enabled=True, last_run_at=None, last_success_at=None,
                            last_status=None, consecutive_failures=0, flags=[], last_error=None, next_run_at=None,
                            running_since=None, problems=["never run: not in the database yet (a source added to "
                                                          "config.yaml runs once the service starts or reloads)"])
    flags = [flag for flag in (row["flags"] or "").split(", ") if flag]
    health = SourceHealth(
        name=name, kind=row["kind"], schedule=row["schedule"], enabled=bool(row["enabled"]),
        last_run_at=row["last_run_at"], last_success_at=row["last_success_at"], last_status=row["last_status"],
        consecutive_failures=row["consecutive_failures"] or 0, flags=flags, last_error=row["last_error"],
        next_run_at=row["next_run_at"], running_since=row["running_since"],
    )
    for flag in flags:
        health.problems.append(_FLAG_PROBLEMS.get(flag, flag).format(
            failures=health.consecutive_failures, error=row["last_error"], last_new=row["last_new_at"]))
    running = row["running_since"] and now - _time(row["running_since"]) < RUN_IN_PROGRESS_FOR
    if row["last_run_at"] is None and not running:
        health.problems.append("never run")
    elif row["next_run_at"] and not running and now - _time(row["next_run_at"]) > OVERDUE_GRACE:
        health.problems.append(f"overdue: its next run was due at {row['next_run_at']}; is the service running?")
    return health


def _rows(conn: sqlite3.Connection, sql: str) -> list[dict]:
    cursor = conn.execute(sql)
    names = [column[0] for column in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def _time(value: str) -> datetime:
    when = datetime.fromisoformat(value)
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0
