"""Run ``run_monitor.py`` with a memory probe: each SIGUSR1 appends one JSON line saying where the memory is.

``soak.py --probe`` starts the service through this file, so the service's own code runs unchanged; only this
handler is added. A line holds: resident memory; glibc's heap (``malloc_info``, all arenas: bytes taken from the
system, free bytes it keeps); Python's own small-object arenas (pymalloc); SQLite's own heap
(``sqlite3_memory_used``: its page cache included); the sizes of the identity caches and of the story index's
in-memory window; and, with ``tracemalloc`` on (``-X tracemalloc``), the traced total and the 25 source lines whose
allocations grew most since the first line. With ``NEWS_MONITOR_PROBE_TRIM=1`` it also calls ``malloc_trim(0)``
and records the resident memory after it: what drops is free heap glibc had kept (fragmentation), not live objects.

    NEWS_MONITOR_PROBE=/tmp/probe.jsonl python -X tracemalloc bench/memory_probe.py --config c.yaml run

Linux with glibc only (``/proc``, ``malloc_info``).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import json
import os
import signal
import sys
import time
import tracemalloc
from pathlib import Path
from xml.etree import ElementTree

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

_LIBC = ctypes.CDLL(ctypes.util.find_library("c"))
try:
    _SQLITE = ctypes.CDLL(ctypes.util.find_library("sqlite3"))   # the library _sqlite3 is linked with
    _SQLITE.sqlite3_memory_used.restype = ctypes.c_int64
    _SQLITE.sqlite3_memory_highwater.restype = ctypes.c_int64
except (OSError, TypeError, AttributeError):
    _SQLITE = None


def rss_kib() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def heap() -> dict[str, float]:
    """glibc's heap over all its arenas (``malloc_info``; ``mallinfo2`` sees the main arena only, and each thread
    that allocates may get an arena of its own): bytes taken from the system, and free bytes it keeps."""
    _LIBC.fopen.restype = ctypes.c_void_p
    _LIBC.fopen.argtypes = (ctypes.c_char_p, ctypes.c_char_p)
    _LIBC.fclose.argtypes = (ctypes.c_void_p,)
    _LIBC.malloc_info.argtypes = (ctypes.c_int, ctypes.c_void_p)
    path = f"/tmp/memory-probe-{os.getpid()}.xml"
    stream = _LIBC.fopen(path.encode(), b"w")
    if not stream:
        return {}
    try:
        _LIBC.malloc_info(0, stream)
    finally:
        _LIBC.fclose(stream)
    try:
        root = ElementTree.fromstring(Path(path).read_text())
    finally:
        os.unlink(path)
    mib = 2 ** 20
    totals = {(e.get("type")): int(e.get("size")) for e in root.findall("total")}
    system = {(e.get("type")): int(e.get("size")) for e in root.findall("system")}
    mmapped = next((int(e.get("size")) for e in root.findall("total") if e.get("type") == "mmap"), 0)
    free = totals.get("fast", 0) + totals.get("rest", 0)
    return {"heap_system_mb": system.get("current", 0) / mib, "heap_free_mb": free / mib,
            "heap_in_use_mb": (system.get("current", 0) - free) / mib, "heap_mmapped_mb": mmapped / mib,
            "arenas": len(root.findall("heap"))}


def pymalloc() -> dict[str, float]:
    """Python's small-object allocator (objects of 512 bytes or less live in its 256 KiB arenas, not in glibc's
    heap): ``sys._debugmallocstats``, which writes to the C stderr, read back from a file."""
    path = f"/tmp/memory-probe-{os.getpid()}.txt"
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(path, "w") as out:
            os.dup2(out.fileno(), 2)
            sys._debugmallocstats()
    finally:
        os.dup2(saved, 2)
        os.close(saved)
    text = Path(path).read_text()
    os.unlink(path)
    figures: dict[str, float] = {}
    for line in text.splitlines():
        label, _, value = line.rpartition("=")
        value = value.strip().replace(",", "")
        if not value.isdigit():
            continue
        if "arenas * " in label:
            figures["pymalloc_arenas_mb"] = int(value) / 2**20
        elif "bytes in allocated blocks" in label:
            figures["pymalloc_used_mb"] = int(value) / 2**20
        elif "bytes in available blocks" in label:
            figures["pymalloc_free_mb"] = int(value) / 2**20
        elif "unused pools" in label:
            figures["pymalloc_unused_pools_mb"] = int(value) / 2**20
    return figures


def caches() -> dict[str, object]:
    """Sizes of the bounded caches identity keeps (modules imported by the service by now)."""
    found: dict[str, object] = {}
    for module, names in (("monitor.identity.headlines", ("headline",)),
                          ("monitor.identity.keys", ("_token_slot", "_key", "band_keys")),
                          ("monitor.core.fold", ("fold_char",)), ("monitor.core.outlets", ()),
                          ("monitor.identity.pages", ())):
        mod = sys.modules.get(module)
        for name in names:
            function = getattr(mod, name, None)
            info = getattr(function, "cache_info", None)
            if info is not None:
                found[f"{module.rsplit('.', 1)[1]}.{name}"] = info().currsize
            elif function is not None and hasattr(function, "__len__"):
                found[f"{module.rsplit('.', 1)[1]}.{name}"] = len(function)
    return found


def windows() -> list[dict[str, object]]:
    """The story index windows alive in the process (one per store)."""
    module = sys.modules.get("db.story_index")
    if module is None:
        return []
    found = []
    for obj in gc.get_objects():
        if type(obj).__name__ == "StoryIndex" and type(obj).__module__ == "db.story_index":
            cache = obj._cache
            describe = getattr(cache, "describe", None)
            found.append(describe() if describe else {"items": len(cache.entries) if cache else 0,
                                                      "keys": len(cache.postings) if cache else 0})
    return found


class Probe:
    def __init__(self, path: Path):
        self.path = path
        self.first: tracemalloc.Snapshot | None = None
        self.started = time.monotonic()

    def __call__(self, signum=None, frame=None) -> None:
        line: dict[str, object] = {"t": round(time.monotonic() - self.started, 1), "rss_mb": rss_kib() / 1024}
        line.update(heap())
        line.update(pymalloc())
        if _SQLITE is not None:
            line["sqlite_mb"] = _SQLITE.sqlite3_memory_used() / 2**20
            line["sqlite_highwater_mb"] = _SQLITE.sqlite3_memory_highwater(0) / 2**20
        if os.environ.get("NEWS_MONITOR_PROBE_TRIM") == "1":
            _LIBC.malloc_trim(0)
            line["rss_after_trim_mb"] = rss_kib() / 1024
        line["caches"] = caches()
        line["windows"] = windows()
        if tracemalloc.is_tracing():
            snapshot = tracemalloc.take_snapshot().filter_traces(
                [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, __file__)])
            line["traced_mb"] = tracemalloc.get_traced_memory()[0] / 2**20
            if self.first is None:
                self.first = snapshot
            line["grew"] = [
                [str(stat.traceback[0]), round(stat.size_diff / 1024), stat.count_diff]
                for stat in snapshot.compare_to(self.first, "lineno")[:25]
            ]
            line["top"] = [[str(stat.traceback[0]), round(stat.size / 1024), stat.count]
                           for stat in snapshot.statistics("lineno")[:15]]
        with open(self.path, "a", encoding="utf-8") as out:
            out.write(json.dumps(line, ensure_ascii=False) + "\n")


def main() -> int:
    signal.signal(signal.SIGUSR1, Probe(Path(os.environ["NEWS_MONITOR_PROBE"])))
    from monitor.cli import main as cli_main
    return cli_main(sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
