"""The command line: ``run_monitor.py [--config PATH] COMMAND``.

The only place where domain errors become messages and exit codes: 0 ok, 1 a source or seed failed (or, for
``status`` and ``export``, there is no database yet), 2 the configuration is invalid (a missing seed file included).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from monitor import text
from monitor.config import Config, load_config
from monitor.errors import ConfigError, NewsMonitorError, SeedError

log = logging.getLogger("monitor")

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="run_monitor.py",
        description="Follow a news topic over time: scrape configured sources into a de-duplicated SQLite corpus.",
    )
    parser.add_argument("--config", default="config.yaml", help="config file (default: config.yaml)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
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

    commands.add_parser("status", help="one row per source: schedule, last run, status, failures, next run")
    commands.add_parser("check", help="validate the config and print the plan; touches nothing")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    command = args.command or "run"
    try:
        config = load_config(args.config)
        return COMMANDS[command](config, args)
    except ConfigError as error:
        print(f"config error: {error}", file=sys.stderr)
        return EXIT_CONFIG
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
    print(f"config:    {config.path}")
    print(f"database:  {config.database}")
    print(f"timezone:  {config.timezone}")
    print(f"datasette: http://{config.datasette.host}:{config.datasette.port}/")
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
    missing = [p for p in config.seeds if not p.exists()]
    if missing:
        raise ConfigError(f"seeds: no such file {missing[0]}")


def cmd_seed(config: Config, args) -> int:
    from db.store import Store
    from monitor.seeding import import_seed, read_seed_file
    from scrapers.seed import seed_to_data

    if args.write_data:
        if len(args.files) != 1:
            raise SeedError("--write-data takes exactly one seed document")
        seed, _, _ = read_seed_file(args.files[0], config.http, args.base_url)
        data = seed_to_data(seed, source_document=Path(args.files[0]).name, timezone=config.timezone)
        args.write_data.parent.mkdir(parents=True, exist_ok=True)
        args.write_data.write_text(json.dumps(data, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        print(f"{args.write_data}: {len(seed.related)} related headlines of {seed.article.title!r}")
        return EXIT_OK
    store = Store(config.database, text.zone(config.timezone))
    status = EXIT_OK
    try:
        for path in args.files:
            try:
                result = import_seed(store, path, store.zone, config.topics, http=config.http,
                                     base_url=args.base_url)
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


def cmd_once(config: Config, args) -> int:
    from monitor.service import Monitor

    for name in args.sources:
        config.source(name)   # unknown names fail before anything runs
    if not args.sources:
        _require_seed_files(config)
    monitor = Monitor.open(config)
    try:
        if not args.sources:
            monitor.import_configured_seeds()
        results = monitor.run_once(args.sources or None)
    finally:
        monitor.close()
    for result in results:
        print(result.line())
    return EXIT_FAILED if any(r.status == "error" for r in results) else EXIT_OK


def cmd_run(config: Config, args) -> int:
    from monitor.service import run_service

    _require_seed_files(config)
    return run_service(
        config,
        host=args.host or config.datasette.host,
        port=args.port or config.datasette.port,
        with_datasette=not args.no_datasette,
    )


def cmd_serve(config: Config, args) -> int:
    from db.publish import datasette_command, write_metadata
    from db.store import Store

    Store(config.database, text.zone(config.timezone)).close()   # create and migrate, so there is something to serve
    with tempfile.TemporaryDirectory(prefix="news-monitor-") as workdir:
        metadata = write_metadata(config.database, Path(workdir))
        command = datasette_command(config.database, metadata, args.host or config.datasette.host,
                                    args.port or config.datasette.port)
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

    previous = {signum: signal.signal(signum, forward) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        child = subprocess.Popen(command)
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
    from db.export import ExportFilter, select_items, write_csv, write_jsonl
    from db.search import register_search_tokenizer

    conn = _open_read_only(config)
    register_search_tokenizer(conn)
    filters = ExportFilter(topic=args.topic, source=args.source, since=args.since, until=args.until,
                           search=args.search)
    write = write_csv if args.format == "csv" else write_jsonl
    try:
        rows = select_items(conn, filters)
        if args.output:
            encoding = "utf-8-sig" if args.format == "csv" else "utf-8"
            with open(args.output, "w", encoding=encoding, newline="") as out:
                count = write(rows, out)
            print(f"{args.output}: {count} items", file=sys.stderr)
        else:
            write(rows, sys.stdout)
    finally:
        conn.close()
    return EXIT_OK


def _open_read_only(config: Config):
    """The database, opened read-only; a missing file is "no database yet" (exit 1), never created here."""
    import sqlite3

    if not config.database.exists():
        raise NewsMonitorError(f"no database at {config.database} yet: run `once` or `run` first")
    conn = sqlite3.connect(f"file:{config.database}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def cmd_status(config: Config, args) -> int:
    """Read-only: the configured sources, with the health the store last recorded for each (none: never run)."""
    import sqlite3

    conn = _open_read_only(config)
    try:
        stored = {row["name"]: dict(row) for row in conn.execute("SELECT * FROM sources")}
    except sqlite3.Error as error:
        raise NewsMonitorError(f"cannot read the sources of {config.database}: {error}") from None
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


COMMANDS = {
    "run": cmd_run,
    "once": cmd_once,
    "seed": cmd_seed,
    "serve": cmd_serve,
    "export": cmd_export,
    "status": cmd_status,
    "check": cmd_check,
}
