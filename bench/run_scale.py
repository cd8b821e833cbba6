"""The parts of ``bench/run.py`` that run a bench script of their own: fetching, identity at scale, memory over time.

Each runs the script as a child process (its own memory, its own corpus or servers), reads the figures it prints
and turns them into rows of run.py's table. The scripts stay the place to read how a figure is made; run.py only
gathers them, so one command prints every figure of issue 12.
"""

from __future__ import annotations

import re
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
Row = tuple[str, str, str, str]   # figure, ours, floor or peer, target
# The identity part's corpus, built once and reused; run.py's Datasette part starts from it too.
IDENTITY_CORPUS = Path(tempfile.gettempdir()) / "news-monitor-identity-corpus.db"


def _run(script: str, *arguments: str) -> str:
    """The script's printed output (it fails loudly: a bench that cannot run must not print a half table)."""
    done = subprocess.run([PYTHON, f"bench/{script}", *arguments], cwd=ROOT, capture_output=True, text=True,
                          check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bench/{script} {' '.join(arguments)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return done.stdout


def _number(pattern: str, text: str, script: str) -> float:
    found = re.search(pattern, text)
    if not found:
        raise RuntimeError(f"bench/{script} printed no line matching {pattern!r}:\n{text[-2000:]}")
    return float(found.group(1).replace(",", ""))


def fetch_rows(rounds: int) -> list[Row]:
    """500 sources on 50 hosts behind 200 ms, through the pipeline at 8, 16 and 32 workers: wall time / ideal.

    The ideal is computed, not measured. At 8 and 16 workers the network is the limit and a run takes 15 and 8 s: one
    run each; at 32 the CPU is, and the figure moves with the machine's load: three runs, their median shown."""
    rows = []
    for workers in (8, 16, 32):
        ratios, walls, ideal = [], [], 0.0
        for _ in range(min(rounds, 3) if workers == 32 else 1):
            out = _run("bench_fetch_concurrency.py", "--workers", str(workers))
            walls.append(_number(r"wall time ([\d.]+) s", out, "bench_fetch_concurrency.py"))
            ideal = _number(r"ideal ([\d.]+) s", out, "bench_fetch_concurrency.py")
            ratios.append(walls[-1] / ideal)
        rows.append((f"fetching: 500 sources behind 200 ms, {workers} workers (pipeline)",
                     f"{statistics.median(walls):.2f} s ({statistics.median(ratios):.2f}× ideal; runs "
                     + ", ".join(f"{r:.2f}×" for r in ratios) + ")",
                     f"ideal {ideal:.2f} s", "≤ 1.3× ideal"))
    return rows


def identity_rows(items: int) -> list[Row]:
    """1,000 new items against ``items`` stored (the corpus, ``IDENTITY_CORPUS``, is built once and reused)."""
    out = _run("bench_identity_scale.py", "--items", str(items), "--db", str(IDENTITY_CORPUS))
    script = "bench_identity_scale.py"
    steady = _number(r"next \d+ batches \(a running service\): median ([\d,]+) items/s", out, script)
    per_cpu = _number(r"per CPU second: median ([\d,]+) items", out, script)
    first = _number(r"identify, first batch: ([\d,]+) items/s", out, script)
    rss = _number(r"peak resident memory of this process: (\d+) MiB", out, script)
    return [
        (f"identity: 1,000 new against {items:,} stored (steady state; first batch)",
         f"{steady:,.0f} items/s ({per_cpu:,.0f} per CPU second); first batch {first:,.0f}",
         "", "≥ 10,000 items/s"),
        (f"identity: peak RSS of the bench process ({items:,} stored)", f"{rss:,.0f} MiB", "", "≤ 500 MB"),
    ]


def memory_rows(cycles: int) -> list[Row]:
    """The service (``run --no-datasette``) against 50 changing feeds for ``cycles`` poll cycles (bench/soak.py)."""
    warmup = max(10, cycles // 20)
    out = _run("soak.py", "--cycles", str(cycles), "--warmup-cycles", str(warmup), "--every", "1", "--shown", "10")
    script = "soak.py"
    warm = _number(r"after warm-up \([^)]*\) ([\d.]+) MB", out, script)
    end = _number(r"end ([\d.]+) MB; growth", out, script)
    duplicates = int(_number(r"duplicates: (\d+)", out, script))
    lost = int(_number(r"lost rows: (\d+)", out, script))
    tenths = re.search(r"per tenth: (.*) MB", out)
    return [(f"memory: service RSS, {cycles:,} poll cycles of 50 changing feeds (after {warmup} cycles → end)",
             f"{warm:.1f} → {end:.1f} MB ({end - warm:+.1f} MB); duplicates {duplicates}, lost {lost}",
             f"per tenth of the run: {tenths.group(1) if tenths else '?'} MB", "growth ≤ 30 MB, levelling off")]
