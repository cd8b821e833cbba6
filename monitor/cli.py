"""The command line: ``run_monitor.py [--config PATH] COMMAND``.

The only place where domain errors become messages and exit codes: 0 ok; 1 a source or seed failed, or a file or
the database cannot be used (for ``status``, ``export`` and ``serve`` also: there is no database yet; for ``serve``:
the Datasette port is taken); 2 the configuration is invalid (a missing seed file included) or a command-line option
is (argparse's own usage errors are 2 as well). Each problem is one line naming the path or option and what to do.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sqlite3
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from monitor.core import dates, logs
from monitor.core.errors import ConfigError, NewsMonitorError, SeedError
from monitor.core.progress import progress

if TYPE_CHECKING:   # config (and the kinds it knows) is imported once the command line is parsed: --help is quick
    import subprocess

    from monitor.config import Config

log = logging.getLogger("monitor")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2
EXIT_USAGE = 2   # a command-line option with a value the command cannot use, as argparse's own usage errors


class UsageError(Exception):
    "A command-line option has a value the command cannot use; the message names the option and the value."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_monitor.py",
        description="Follow a news topic over time: scrape configured sources into a de-duplicated SQLite corpus.",
    )
    parser.add_argument("--config", default="config.yaml", help="config file (default: config.yaml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    parser.add_argument("--log-format", choices=logs.FORMATS, default="text",
                        help="text (default) or json: one JSON object per line (time, level, logger, message, "
                             "source, run)")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    run = commands.add_parser("run", help="the background service: scheduler and Datasette (the default)")
    run.add_argument("--host", help="Datasette host (default from config: 127.0.0.1)")
    run.add_argument("--port", type=int, help="Datasette port (default from config: 8001)")
    run.add_argument("--no-datasette", action="store_true", help="scrape only; do not serve Datasette")

    once = commands.add_parser("once", help="one pass over every enabled source (or the named ones), then exit")
    once.add_argument("sources", nargs="*", metavar="SOURCE")

    seed = commands.add_parser("seed", help="import seed documents (text form or headline-list data file)")
    seed.add_argument("files", nargs="+", metavar="FILE_OR_URL",
                      help="a seed document (text form), a headline-list data file, an article page file or URL")
    seed.add_argument("--write-data", type=Path, metavar="PATH",
                      help="instead of importing, write the headline list of one text-form FILE as a data file")
    seed.add_argument("--base-url", metavar="URL",
                      help="the address a saved HTML page was published at; its relative links resolve against it")

    serve = commands.add_parser("serve", help="Datasette only, read-only over the database")
    serve.add_argument("--host")
    serve.add_argument("--port", type=int)

    export = commands.add_parser("export", help="items as CSV (default) or JSON lines")
    export.add_argument("-o", "--output", type=Path, help="file to write (default: standard output)")
    export.add_argument("--format", choices=("csv", "jsonl"), default="csv")
    export.add_argument("--topic")
    export.add_argument("--source")
    export.add_argument("--since", help="ISO date or time, compared with published_at (else first_seen_at)")
    export.add_argument("--until", help="ISO date (inclusive) or time (exclusive)")
    export.add_argument("--search", help="full-text query, either script")
    export.add_argument("--raw", action="store_true",
                        help="CSV cells as stored: no leading ' on cells a spreadsheet would run as a formula")
    export.add_argument("--bom", action="store_true",
                        help="start the CSV with a UTF-8 byte-order mark for Excel (always done for -o FILE)")

    commands.add_parser("status", help="one row per source: schedule, last run, status, failures, next run")
    commands.add_parser("check", help="validate the config and print the plan; touches nothing")

    health = commands.add_parser("health", help="is the monitor doing its job? exit 0 healthy, 1 not (read-only)")
    health.add_argument("--json", action="store_true", help="the report as one JSON object")
    backup = commands.add_parser("backup", help="an online copy of the database, safe while the service writes")
    backup.add_argument("path", type=Path, metavar="PATH", help="the copy to write (a directory: same file name)")
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parser.parse_args(argv)
    if args.command is None:   # `run` is the default command: the same, with the defaults of its own options
        args = parser.parse_args([*argv, "run"])
    logs.configure_logging(verbose=args.verbose, fmt=args.log_format)
    try:
        from monitor.config import load_config

        config = load_config(args.config)
        return COMMANDS[args.command](config, args)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return EXIT_CONFIG
    except UsageError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_USAGE
    except NewsMonitorError as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return EXIT_FAILED
    except BrokenPipeError:
        # `export | head`: the reader went away; not an error. Point stdout at devnull so the exit flush is quiet.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_OK


def cmd_check(config: Config, args) -> int:
    from db.publish import browse_url

    print(f"config:    {config.path}")
    print(f"database:  {config.database}")
    print(f"timezone:  {config.timezone}")
    print(f"datasette: {browse_url(config.database, config.datasette.host, config.datasette.port)}")
    for path in config.seeds:
        print(f"seed:      {path}{'' if path.exists() else '  (missing!)'}")
    for rule in config.topics:
        print(f"topic:     {rule.name}: any={list(rule.any)} all={list(rule.all)} exclude={list(rule.exclude)}")
    for source in config.sources:
        state = "" if source.enabled else "  (disabled)"
        topics = f" topics={list(source.topics)}" if source.topics else ""
        print(f"source:    {source.name} [{source.kind}] {source.schedule}{topics}{state}")
        for url in source.start_urls:
            print(f"           {url}")
        if not source.start_urls:
            print("           (starts from stored items that match its topics)")
    _require_seed_files(config)
    print(f"ok: {len(config.sources)} sources, {len(config.topics)} topics")
    return EXIT_OK


def _require_seed_files(config: Config) -> None:
    """A configured seed file that does not exist is a config error (exit 2) for check, once and run alike, found
    before anything is opened or imported."""
    for i, path in enumerate(config.seeds):
        if not path.exists():
            raise ConfigError(f"{config.path}: seeds[{i}]: no such file {path}")


@contextlib.contextmanager
def _opening_database(config: Config):
    """Turn a database that cannot be opened, created or migrated into one line naming it and what to do."""
    try:
        yield
    except (sqlite3.Error, OSError) as error:
        raise NewsMonitorError(_database_problem(config, error)) from None


def _database_problem(config: Config, error: Exception) -> str:
    from db.transaction import database_problem

    path = config.database
    if isinstance(error, sqlite3.DatabaseError) and getattr(error, "sqlite_errorname", "") == "SQLITE_NOTADB":
        return (f"{path} is not an SQLite database: point `database:` in {config.path} at a news-monitor database "
                "or at a file that does not exist yet")
    known = database_problem(error, path)    # a full disk, a lock, a damaged or read-only file: its own advice
    if known is not None:
        return str(known)
    blocking = next((parent for parent in path.parents if parent.exists() and not parent.is_dir()), None)
    if path.is_dir():
        reason = "it is a directory"
    elif blocking is not None:
        reason = f"{blocking} is a file, not a directory"
    else:
        reason = (error.strerror if isinstance(error, OSError) else None) or str(error)
    return (f"cannot open or create the database {path} ({reason}): check that its directory can be created and "
            f"written to, or change `database:` in {config.path}")


def _check_writable_database(config: Config) -> None:
    """Open (creating and migrating) the database once, so the service starts only where it can write."""
    from db.store import Store

    with _opening_database(config):
        Store(config.database, dates.zone(config.timezone)).close()


def cmd_seed(config: Config, args) -> int:
    from db.store import Store
    from monitor.seeding import import_seed, read_seed_file
    from scrapers.seed import seed_to_data

    if args.write_data:
        if len(args.files) != 1:
            raise SeedError("--write-data takes exactly one seed document")
        seed, _, _ = read_seed_file(args.files[0], config.http, args.base_url)
        data = seed_to_data(seed, source_document=Path(args.files[0]).name, timezone=config.timezone)
        try:
            args.write_data.parent.mkdir(parents=True, exist_ok=True)
            args.write_data.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        except OSError as error:
            raise NewsMonitorError(_cannot_write(args.write_data, error)) from None
        print(f"{args.write_data}: {len(seed.related)} related headlines of {seed.article.title!r}")
        return EXIT_OK
    with _opening_database(config):
        store = Store(config.database, dates.zone(config.timezone))
    status = EXIT_OK
    try:
        for path in args.files:
            try:
                with progress(f"seed {Path(path).name}", unit="item") as bar:
                    result = import_seed(store, path, store.zone, config.topics, http=config.http,
                                         base_url=args.base_url, on_item=bar.at)
            except SeedError as error:
                print(f"error: {error}", file=sys.stderr)
                status = EXIT_FAILED
                continue
            if result.already_imported:
                print(f"{path}: already imported, nothing to do")
            else:
                print(f"{path}: {result.items_seen} items ({result.items_new} new), {result.links_new} new links")
    finally:
        store.close()
    return status


class _Stopped(BaseException):
    """SIGTERM or SIGINT reached ``once`` (raised in the main thread by the signal handler)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.name = signal.Signals(signum).name


@contextlib.contextmanager
def _stop_on_signals():
    """SIGTERM and SIGINT raise ``_Stopped`` in the main thread, once: a second signal is then let pass (a handler
    that does nothing; SIG_IGN would make Python raise "ignored due to race condition" for one already pending)."""
    def stop(signum, frame) -> None:
        for number in (signal.SIGINT, signal.SIGTERM):
            signal.signal(number, _let_pass)
        raise _Stopped(signum)

    previous = {signum: signal.signal(signum, stop) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _let_pass(signum, frame) -> None:
    """A signal arriving while ``once`` already stops: nothing more to do."""


def cmd_once(config: Config, args) -> int:
    """One pass. Stopped by SIGTERM or SIGINT, runs not started are not, runs in flight get a few seconds
    (``service.STOP_GRACE``), and those still going are recorded ``interrupted``; exit status 1."""
    from monitor.service import Monitor

    for name in args.sources:
        config.source(name)   # unknown names fail before anything runs
    if not args.sources:
        _require_seed_files(config)
    with _opening_database(config):
        monitor = Monitor.open(config)
    try:
        with _stop_on_signals():
            if not args.sources:
                monitor.import_configured_seeds()
            total = len(args.sources) or sum(1 for source in config.sources if source.enabled)
            with progress("sources", total=total, unit="source") as bar:
                results = monitor.run_once(args.sources or None, on_result=lambda result: bar.advance())
    except _Stopped as stopped:
        _end_interrupted(monitor, stopped.name)   # ends the process
    finally:
        monitor.close()
    for result in results:
        print(result.line())
    return EXIT_FAILED if any(r.status == "error" for r in results) else EXIT_OK


def _end_interrupted(monitor, signal_name: str) -> None:
    """Record the runs still in flight as interrupted, say so, and end the process (worker threads with it)."""
    reason = f"stopped by {signal_name} before this run finished"
    closed = monitor.store.close_for_exit(reason)
    for _, source in closed:
        print(f"{source}: error (interrupted): {reason}")
    print(f"stopped by {signal_name}: {len(closed)} runs interrupted", file=sys.stderr)
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_FAILED)


def cmd_run(config: Config, args) -> int:
    from db.publish import port_problem
    from monitor.service import run_service

    _require_seed_files(config)
    _check_writable_database(config)
    host, port = args.host or config.datasette.host, args.port or config.datasette.port
    with_datasette = not args.no_datasette
    problem = port_problem(host, port) if with_datasette else None
    if problem:
        # Datasette would exit at once, and the service only log its exit status: say why, and scrape on.
        log.error("Datasette could not start: %s (%s); the monitor keeps scraping", problem,
                  _port_hint(config, problem))
        with_datasette = False
    return run_service(config, host=host, port=port, with_datasette=with_datasette)


def _port_hint(config: Config, problem: str) -> str:
    if problem.endswith(" is in use"):
        return f"set datasette.port in {config.path} or pass --port"
    return f"set datasette.host and datasette.port in {config.path} or pass --host and --port"


def cmd_serve(config: Config, args) -> int:
    """Datasette over an existing database. Nothing is created, and nothing written unless the file was made by an
    older release: then it is migrated first, as ``once`` or ``run`` would, so its tables match the descriptions."""
    from db.publish import browse_url, datasette_command, datasette_workdir, port_problem, write_metadata
    from db.readonly import schema_version
    from db.schema import SCHEMA_VERSION
    from db.store import Store

    conn = _open_read_only(config)
    try:
        version = schema_version(conn)
    finally:
        conn.close()
    if version == 0:
        raise NewsMonitorError(f"{config.database} has no news-monitor tables yet: run `once` or `run` first")
    host, port = args.host or config.datasette.host, args.port or config.datasette.port
    problem = port_problem(host, port)
    if problem:
        raise NewsMonitorError(f"Datasette could not start: {problem} ({_port_hint(config, problem)})")
    if version < SCHEMA_VERSION:
        log.info("%s: upgrading from schema version %d to %d before serving it", config.database, version,
                 SCHEMA_VERSION)
        with _opening_database(config):
            Store(config.database, dates.zone(config.timezone)).close()
    with datasette_workdir() as workdir:
        metadata = write_metadata(config.database, workdir, timezone=config.timezone,
                                  allow_sql=config.datasette.allow_sql)
        command = datasette_command(config.database, metadata, host, port)
        log.info("Datasette serving %s at %s", config.database, browse_url(config.database, host, port))
        return _foreground(command)


def _foreground(command: list[str]) -> int:
    """Run ``command`` until it exits, passing SIGINT/SIGTERM on to it; 0 when a signal stopped it.

    With a bare ``subprocess.call`` a SIGTERM (systemd, ``kill``) ended this process and left Datasette serving,
    orphaned. Handlers are installed before the child starts, so no signal falls between the two.
    """
    received: list[int] = []
    child: subprocess.Popen | None = None

    def forward(signum, frame) -> None:
        received.append(signum)
        if child is not None:
            child.send_signal(signum)

    from db.publish import start_tied

    previous = {signum: signal.signal(signum, forward) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        child = start_tied(command)
        if received:
            child.send_signal(received[0])
        status = child.wait()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if received:
        return EXIT_OK
    return status if status >= 0 else EXIT_FAILED


def cmd_export(config: Config, args) -> int:
    """Everything is checked (options, database, filter names, the query) before the output file is opened; rows are
    then read as they are written (newest first along an index: any size in flat memory), and a file left
    unfinished by a read error is removed."""
    from db.export import ExportFilter, FilterError, check_names, select_items, time_bound, write_csv, write_jsonl
    from db.search import register_search_tokenizer, uses_legacy_tokenizer

    zone = dates.zone(config.timezone)
    try:
        since = time_bound("--since", args.since, zone) if args.since is not None else None
        until = time_bound("--until", args.until, zone) if args.until is not None else None
    except FilterError as error:
        raise UsageError(str(error)) from None
    filters = ExportFilter(topic=args.topic, source=args.source, since=since, until=until, search=args.search)
    conn = _open_read_only(config)
    if args.search and uses_legacy_tokenizer(conn):     # a file the service has not upgraded to schema 8 yet
        register_search_tokenizer(conn)
    if args.format == "csv":
        def write(rows, out):
            return write_csv(rows, out, raw=args.raw)
    else:
        write = write_jsonl
    try:
        try:
            check_names(conn, filters, topics=[t.name for t in config.topics], sources=[s.name for s in config.sources])
            rows = select_items(conn, filters)
        except FilterError as error:
            raise UsageError(str(error)) from None
        except sqlite3.Error as error:
            raise NewsMonitorError(_read_problem(config, error, "the items of")) from None
        try:
            if args.output:
                encoding = "utf-8-sig" if args.format == "csv" else "utf-8"
                try:
                    with open(args.output, "w", encoding=encoding, newline="") as out, \
                            progress(f"export {args.output.name}", unit="item") as bar:
                        count = write(bar.counting(rows), out)
                except OSError as error:   # a missing directory, a directory given as -o, a full disk...
                    raise NewsMonitorError(_cannot_write(args.output, error)) from None
                print(f"{args.output}: {count} items", file=sys.stderr)
            else:
                if args.bom and args.format == "csv":
                    sys.stdout.write("\ufeff")
                write(rows, sys.stdout)
        except sqlite3.Error as error:   # rows are read as they are written: a damaged page may come mid-way
            if args.output:
                args.output.unlink(missing_ok=True)     # no export that looks whole and is not
            raise NewsMonitorError(_read_problem(config, error, "the items of")) from None
    finally:
        conn.close()
    return EXIT_OK


def _read_problem(config: Config, error: sqlite3.Error, what: str) -> str:
    """Why ``what`` could not be read: a damaged (or locked...) file with its advice, else SQLite's words."""
    from db.transaction import database_problem

    known = database_problem(error, config.database)
    return str(known) if known is not None else f"cannot read {what} {config.database}: {error}"


def _cannot_write(path: Path, error: OSError) -> str:
    return f"cannot write {path}: {error.strerror or error}; check that its directory exists and can be written to"


def _open_read_only(config: Config) -> sqlite3.Connection:
    """The database, opened read-only; a missing file is "no database yet" (exit 1), never created here, and a
    file that is not an SQLite database is named as such."""
    if not config.database.exists():
        raise NewsMonitorError(f"no database at {config.database} yet: run `once` or `run` first")
    if config.database.is_dir():
        raise NewsMonitorError(_database_problem(config, IsADirectoryError()))
    from db.readonly import check_readable, open_read_only

    conn = open_read_only(config.database)
    try:
        check_readable(conn)
    except sqlite3.Error as error:
        conn.close()
        if getattr(error, "sqlite_errorname", "") == "SQLITE_NOTADB":
            raise NewsMonitorError(_database_problem(config, error)) from None
        raise NewsMonitorError(_read_problem(config, error, "the database")) from None
    return conn


def cmd_status(config: Config, args) -> int:
    """Read-only: the configured sources, with the health the store last recorded for each (none: never run)."""
    from db.readonly import source_states

    conn = _open_read_only(config)
    try:
        stored = source_states(conn)
    except sqlite3.Error as error:
        raise NewsMonitorError(_read_problem(config, error, "the sources of")) from None
    finally:
        conn.close()

    def when(value: str | None) -> str:
        return value[:16].replace("T", " ") if value else ""

    headers = ("source", "kind", "schedule", "last run", "status", "failures", "items", "next run", "flags",
               "last error")
    table = [headers]
    for source in sorted(config.sources, key=lambda s: s.name):
        row = stored.get(source.name, {})
        backoff = row.get("backoff_until")
        error = row.get("last_error")
        table.append((
            source.name, source.kind, source.schedule + ("" if source.enabled else " (disabled)"),
            when(row.get("last_run_at")), row.get("last_status") or "never run",
            str(row.get("consecutive_failures") or 0), str(row.get("items_found") or 0),
            when(backoff or row.get("next_run_at")) + (" (backoff)" if backoff else ""), row.get("flags") or "",
            f"[{row.get('last_error_class')}] {error}" if error else "",   # whole: its advice comes last
        ))
    widths = [max(len(r[i]) for r in table) for i in range(len(headers) - 1)]
    for row in table:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=True)]
        print("  ".join(cells + [row[-1]]).rstrip())
    return EXIT_OK


def cmd_health(config: Config, args) -> int:
    """Read-only. Judges the enabled sources of config.yaml (see ``db.health_report``); 0 healthy, 1 not."""
    from db.health_report import health_report

    conn = _open_read_only(config)
    try:
        report = health_report(conn, config.database, sources=[s.name for s in config.sources if s.enabled])
    except sqlite3.Error as error:
        raise NewsMonitorError(_read_problem(config, error, "the health of")) from None
    finally:
        conn.close()
    if args.json:
        print(json.dumps(report.as_dict(), ensure_ascii=False, indent=2))
        return EXIT_OK if report.healthy else EXIT_FAILED
    size = f"{report.database_bytes / 2**20:.1f} MiB"
    print(f"database:  {report.database} ({size}), last write {report.last_write_at or 'never'}")
    for source in report.sources:
        state = "; ".join(source.problems) or "ok"
        print(f"source:    {source.name}: last success {source.last_success_at or 'never'}; {state}")
    problems = sum(1 for source in report.sources if source.problems)
    if report.healthy:
        print(f"healthy: {len(report.sources)} sources without problems")
        return EXIT_OK
    print(f"not healthy: {problems} of {len(report.sources)} sources have problems")
    return EXIT_FAILED


def cmd_backup(config: Config, args) -> int:
    """An online copy of the database (``db.backup``): 0 done, 1 not (the message says why)."""
    from db.backup import backup_database

    copy = backup_database(config.database, args.path)
    print(f"{copy.path}: a copy of {config.database}, {copy.items} items, {copy.bytes / 2**20:.1f} MiB")
    return EXIT_OK


COMMANDS = {
    "run": cmd_run,
    "once": cmd_once,
    "seed": cmd_seed,
    "serve": cmd_serve,
    "export": cmd_export,
    "status": cmd_status,
    "check": cmd_check,
    "health": cmd_health,
    "backup": cmd_backup,
}
