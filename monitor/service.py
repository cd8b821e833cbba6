"""The background service: one APScheduler job per source, Datasette beside it, a clean stop on SIGINT/SIGTERM.

Scheduler hygiene (APScheduler 3.x): jobs are built from config at every start in the memory job store (nothing is
pickled), each with an explicit id, ``max_instances=1`` (a slow source never overlaps itself), ``coalesce=True``
(missed runs collapse into one), a misfire grace time and a little jitter. A job never raises: ``run_source``
records failures as runs. On SIGTERM the scheduler is shut down with ``wait=True``: runs in flight finish and are
recorded before the store is closed (see ``_Scheduler`` for how that is kept from deadlocking).

What must survive a restart lives in the store, not the scheduler: a failing source's ``backoff_until`` is where its
first run after a start is put (``first_runs``).
"""

from __future__ import annotations

import concurrent.futures
import functools
import logging
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, tzinfo
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from db.health import backoff_delay
from db.store import Store
from monitor.config import Config, SourceConfig, load_config
from monitor.core import dates
from monitor.core.errors import ConfigError
from monitor.fetch import Fetcher
from monitor.notify import notify_new_items
from monitor.pipeline import RunResult, run_source

if TYPE_CHECKING:   # annotations only: APScheduler is imported where the service builds its scheduler
    from apscheduler.events import JobExecutionEvent

    _Scheduler = Any   # the class _scheduler_class() makes

log = logging.getLogger(__name__)

STOP_GRACE = 3.0    # seconds `once` gives runs in flight to finish after SIGTERM/SIGINT


@dataclass
class Monitor:
    """What a scheduled job needs: the config, the one store (writer) and the one fetcher."""

    config: Config
    store: Store
    fetcher: Fetcher
    zone: tzinfo
    stopping: threading.Event = field(default_factory=threading.Event)   # set: scheduled runs no longer start

    @classmethod
    def open(cls, config: Config) -> Monitor:
        zone = dates.zone(config.timezone)
        store = Store(config.database, zone)
        store.sync_sources(config.sources)
        return cls(config=config, store=store, fetcher=Fetcher(config.http), zone=zone)

    def close(self) -> None:
        self.fetcher.close()
        self.store.close()

    def import_configured_seeds(self) -> None:
        if not self.config.seeds:
            return
        from monitor.seeding import import_seed

        for path in self.config.seeds:
            result = import_seed(self.store, path, self.zone, self.config.topics)
            if not result.already_imported:
                log.info("seed %s imported: %d items, %d new, %d links", path, result.items_seen,
                         result.items_new, result.links_new)

    def run_once(self, names: list[str] | None = None,
                 on_result: Callable[[RunResult], None] | None = None) -> list[RunResult]:
        """One run of each source, ``config.workers`` at a time (the fetcher keeps each host polite); ``on_result``
        is told of each run as it ends (a progress bar), in the worker's thread.

        An exception in the waiting thread (``once`` stopped by a signal) cancels the runs not started, gives those
        in flight ``STOP_GRACE`` seconds to finish, and propagates: the caller closes the others as interrupted.
        """
        sources = [self.config.source(n) for n in names] if names else [s for s in self.config.sources if s.enabled]
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=max(1, self.config.workers))
        futures: dict[str, concurrent.futures.Future] = {}
        try:
            futures = {source.name: pool.submit(self.run, source) for source in _interleave_hosts(sources)}
            if on_result is not None:
                def told(done: concurrent.futures.Future) -> None:   # a cancelled or failed run has no result
                    if not done.cancelled() and done.exception() is None:
                        on_result(done.result())

                for future in futures.values():
                    future.add_done_callback(told)
            return [futures[source.name].result() for source in sources]
        except BaseException:
            self.stopping.set()
            pool.shutdown(wait=False, cancel_futures=True)
            concurrent.futures.wait(list(futures.values()), timeout=STOP_GRACE)
            raise
        finally:
            pool.shutdown(wait=False)

    def run(self, source: SourceConfig) -> RunResult:
        """One run of ``source``, then its new items announced (``notify:``; a failing notifier is only logged)."""
        config = self.config   # one config for the whole run, even if a reload (SIGHUP) replaces it meanwhile
        result = run_source(source, config=config, store=self.store, fetcher=self.fetcher, zone=self.zone)
        notify_new_items(config, result.source, result.run_id, result.items_new)
        return result


def _interleave_hosts(sources: list[SourceConfig]) -> list[SourceConfig]:
    """Sources ordered round-robin over their hosts, so the pool's workers do not queue behind one busy host."""
    by_host: dict[str, list[SourceConfig]] = {}
    for source in sources:
        host = urlsplit(source.start_urls[0]).hostname if source.start_urls else ""
        by_host.setdefault(host or "", []).append(source)
    queues = list(by_host.values())
    ordered = []
    while queues:
        ordered += [queue.pop(0) for queue in queues]
        queues = [queue for queue in queues if queue]
    return ordered


def _scheduled_run(monitor: Monitor, source_name: str) -> RunResult | None:
    """The job function (module level, as APScheduler advises): one run of one source.

    None once the service is stopping: a run still queued behind busy workers would otherwise start after SIGTERM
    and hold the stop up for as long as it takes.
    """
    if monitor.stopping.is_set():
        return None
    source = _configured(monitor.config, source_name)
    if source is None:   # removed from config.yaml by a reload while this run waited for a worker
        return None
    return monitor.run(source)


def _configured(config: Config, name: str) -> SourceConfig | None:
    """The source a scheduled job runs, or None once a reload removed or disabled it (its job may still be queued)."""
    return next((source for source in config.sources if source.name == name and source.enabled), None)


def _interval(source: SourceConfig, zone: tzinfo) -> timedelta:
    """The source's usual time between runs (for a cron schedule, between its next two fire times)."""
    if source.every:
        return timedelta(seconds=source.every)
    from apscheduler.triggers.cron import CronTrigger

    trigger = CronTrigger.from_crontab(source.cron, timezone=zone)
    first = trigger.get_next_fire_time(None, datetime.now(zone))
    second = trigger.get_next_fire_time(first, first + timedelta(seconds=1))
    return second - first


def _job_id(source_name: str) -> str:
    return f"source:{source_name}"


@functools.cache
def _scheduler_class() -> type:
    """APScheduler is imported when the service starts (`run`): `once` and the other commands never load it."""
    from apscheduler.schedulers.background import BackgroundScheduler

    class _Scheduler(BackgroundScheduler):
        """The background scheduler, made safe to shut down while jobs run.

        ``shutdown(wait=True)`` waits for running jobs while holding the job-store lock, and a job's listener
        (``apply_backoff``) needs that lock to read or move the job: the service hung on SIGTERM whenever a run was in
        flight. So shutdown first marks the scheduler stopping, under a lock the listener holds for its scheduler calls;
        from then on ``reschedule`` leaves the scheduler alone and the listener writes to the store only.
        """

        def __init__(self, **options):
            super().__init__(**options)
            self._calls = threading.Lock()
            self._stopping = False

        def reschedule(self, source_name: str, not_before: datetime | None) -> datetime | None:
            """The source's next run, moved to ``not_before`` if it was sooner; None when stopping or unknown."""
            with self._calls:
                job = None if self._stopping else self.get_job(_job_id(source_name))
                if job is None:
                    return None
                if not_before and job.next_run_time and job.next_run_time < not_before:
                    job = job.modify(next_run_time=not_before)
                return job.next_run_time

        def shutdown(self, wait: bool = True) -> None:
            with self._calls:
                self._stopping = True
            super().shutdown(wait)

    return _Scheduler


def apply_backoff(scheduler: _Scheduler, monitor: Monitor, result: RunResult) -> datetime | None:
    """After a run: push a repeatedly failing source's next run out (db.health), and record the next run.

    A success needs nothing: the trigger's own schedule takes over again from the run that succeeded. The backoff is
    stored even while the service stops, so the next start honours it (``first_runs``).
    """
    source = monitor.config.source(result.source)
    delay = backoff_delay(result.consecutive_failures, _interval(source, monitor.zone))
    until = datetime.now(monitor.zone) + delay if delay else None
    if until:
        log.warning("%s: %d failures in a row; next try at %s (backoff %s)", source.name,
                    result.consecutive_failures, until.isoformat(timespec="seconds"), delay)
    monitor.store.set_backoff(source.name, until)
    next_run = scheduler.reschedule(source.name, until) or until
    if next_run:
        monitor.store.set_next_run(source.name, next_run)
    return next_run


def _trigger(source: SourceConfig, zone: tzinfo):
    from apscheduler.triggers.cron import CronTrigger
    from apscheduler.triggers.interval import IntervalTrigger

    if source.cron:
        return CronTrigger.from_crontab(source.cron, timezone=zone)
    jitter = min(source.every * 0.1, 60.0)
    return IntervalTrigger(seconds=source.every, timezone=zone, jitter=jitter or None)


START_SPACING = timedelta(seconds=1)   # between the first runs of interval sources at start-up


def first_runs(monitor: Monitor, sources: list[SourceConfig], now: datetime) -> dict[str, datetime]:
    """When each source first runs after a start.

    Interval sources start at once, one START_SPACING apart in host-interleaved order (so sources of one host do
    not all start together and the workers do not queue behind one host); cron sources at their next fire time. A
    source still backed off from before the restart starts no sooner than its stored ``backoff_until``: a restart
    must not hammer a failing site.
    """
    backoffs = monitor.store.backoffs()
    ordered = _interleave_hosts([s for s in sources if s.every]) + [s for s in sources if s.cron]
    runs = {}
    for position, source in enumerate(ordered):
        not_before = max(now, backoffs.get(source.name, now))
        if source.every:
            runs[source.name] = max(now + position * START_SPACING, not_before)
        else:
            runs[source.name] = _trigger(source, monitor.zone).get_next_fire_time(None, not_before)
    return runs


def build_scheduler(monitor: Monitor) -> _Scheduler:
    """A scheduler with one job per enabled source, first run as ``first_runs`` says."""
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MISSED
    from apscheduler.executors.pool import ThreadPoolExecutor

    enabled = [s for s in monitor.config.sources if s.enabled]
    scheduler = _scheduler_class()(
        # `workers` threads at most, started as runs need them: sources added by a reload get workers too.
        executors={"default": ThreadPoolExecutor(max_workers=max(1, monitor.config.workers))},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        timezone=monitor.zone,
    )
    starts = first_runs(monitor, enabled, datetime.now(monitor.zone))
    for source in enabled:
        _add_job(scheduler, monitor, source, starts[source.name])

    def after_job(event: JobExecutionEvent) -> None:
        if event.code == EVENT_JOB_ERROR:
            log.error("job %s raised: %s", event.job_id, event.exception)
        if isinstance(getattr(event, "retval", None), RunResult):
            if _configured(monitor.config, event.retval.source) is None:
                return   # removed by a reload while it ran: nothing left to schedule
            apply_backoff(scheduler, monitor, event.retval)
            return
        source_name = event.job_id.removeprefix(_job_id(""))
        next_run = scheduler.reschedule(source_name, None)
        if next_run:
            monitor.store.set_next_run(source_name, next_run)

    scheduler.add_listener(after_job, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED)
    return scheduler


def _add_job(scheduler: _Scheduler, monitor: Monitor, source: SourceConfig, first_run: datetime) -> None:
    scheduler.add_job(
        _scheduled_run,
        trigger=_trigger(source, monitor.zone),
        args=[monitor, source.name],
        id=_job_id(source.name),
        name=source.name,
        replace_existing=True,
        next_run_time=first_run,
    )


_RESTART_ONLY = ("database", "workers", "datasette")   # settings a running service cannot change


def reload_config(scheduler: _Scheduler, monitor: Monitor) -> bool:
    """Read config.yaml again (SIGHUP): sources added, removed, enabled, disabled or changed take effect at once.

    A file that no longer validates is logged and the running config kept. New and re-enabled sources start as at
    start-up (``first_runs``); a changed schedule is rescheduled from now; any other change of a source (URL,
    selectors, topics, http...) is used from its next run, as are topics and notify. Runs in flight finish with
    the config they started with.
    """
    old = monitor.config
    try:
        new = load_config(old.path)
    except ConfigError as error:
        log.error("reload: %s; the running config is kept", error)
        return False
    for key in _RESTART_ONLY:
        if getattr(new, key) != getattr(old, key):
            log.warning("reload: %s changed in %s; that takes effect at the next restart", key, old.path)
    new = replace(new, **{key: getattr(old, key) for key in _RESTART_ONLY})
    before = {s.name: s for s in old.sources if s.enabled}
    after = {s.name: s for s in new.sources if s.enabled}
    monitor.config = new
    monitor.store.sync_sources(new.sources)
    removed = sorted(before.keys() - after.keys())
    for name in removed:
        scheduler.remove_job(_job_id(name))
        monitor.store.set_next_run(name, None)
    added = [source for name, source in after.items() if name not in before]
    starts = first_runs(monitor, added, datetime.now(monitor.zone))
    for source in added:
        _add_job(scheduler, monitor, source, starts[source.name])
    changed = sorted(name for name in after.keys() & before.keys() if after[name] != before[name])
    for name in changed:
        if after[name].schedule != before[name].schedule:
            scheduler.reschedule_job(_job_id(name), trigger=_trigger(after[name], monitor.zone))
    for name in [*changed, *(s.name for s in added)]:
        job = scheduler.get_job(_job_id(name))
        if job is not None:
            monitor.store.set_next_run(name, job.next_run_time)
    log.info("reload: %s: %d sources added (%s), %d removed (%s), %d changed (%s); %d scheduled", old.path,
             len(added), ", ".join(s.name for s in added) or "-", len(removed), ", ".join(removed) or "-",
             len(changed), ", ".join(changed) or "-", len(scheduler.get_jobs()))
    return True


def _reload_on_sighup() -> threading.Event:
    """An event set by each SIGHUP (main thread only, where signals can be handled)."""
    requested = threading.Event()
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGHUP"):
        signal.signal(signal.SIGHUP, lambda number, frame: requested.set())
    return requested


def run_service(config: Config, *, host: str, port: int, with_datasette: bool = True,
                stop: threading.Event | None = None) -> int:
    """Run until SIGINT/SIGTERM (or ``stop`` is set); returns the exit status (0 on a clean stop)."""
    from db.publish import datasette_workdir, start_datasette, write_metadata  # `once` never serves

    stop = stop or threading.Event()
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda number, frame: stop.set())
    reload_requested = _reload_on_sighup()
    monitor = Monitor.open(config)
    datasette = None
    with datasette_workdir() as workdir:
        try:
            monitor.import_configured_seeds()
            scheduler = build_scheduler(monitor)
            scheduler.start()
            for job in scheduler.get_jobs():
                monitor.store.set_next_run(job.name, job.next_run_time)
            log.info("scheduled %d sources; database %s", len(scheduler.get_jobs()), config.database)
            if with_datasette:
                metadata = write_metadata(config.database, workdir, timezone=config.timezone,
                                          allow_sql=config.datasette.allow_sql)
                datasette = start_datasette(config.database, metadata, host, port)
            while not stop.wait(1.0):
                if reload_requested.is_set():
                    reload_requested.clear()
                    reload_config(scheduler, monitor)
                if datasette is not None and datasette.poll() is not None:
                    log.error("Datasette exited with status %s; the monitor keeps running", datasette.returncode)
                    datasette = None
            log.info("stopping: waiting for running sources to finish")
            monitor.stopping.set()
            scheduler.shutdown(wait=True)
        finally:
            if datasette is not None:
                datasette.terminate()
                try:
                    datasette.wait(timeout=10)
                except Exception:
                    datasette.kill()
            monitor.close()
    log.info("stopped cleanly")
    return 0
