"""Precision and recall of identity (one item) and stories (one story) on the labelled headline pairs.

Each pair in tests/fixtures/identity/pairs.jsonl is two headlines as sources show them, labelled ``dup`` (one
item), ``story`` (different items, one story) or ``diff`` (different stories). Every pair goes through the real
code: a fresh in-memory Store, the first headline saved as one source's sighting, the second as another's; the
pair is "one item" when both got the same ``items.id`` and "one story" when both got the same ``story_id``.
Each side is what a source gives (``title``, and ``url``, ``publisher``, ``published``, ``origin`` where known), so
the rules that read addresses and dates are measured too: the same canonical URL, the publisher and time window
of the title rules, and recurring titles (one site's two pages of two days: ``case`` ``recurring-title``, against
``same-site-same-day`` and ``syndicated``). Pairs with a ``class`` (issue 11's ``shared-subject``: one long subject,
two events or one event reworded; ``contained-title``: a title inside a longer one that changes the event or only
adds detail) are also scored per class.

Item level: positives are ``dup`` pairs. Story level: positives are ``dup`` and ``story`` pairs. The other
measures in the comparison table are pure functions on the same pairs (what the choice was measured against).

Run: ``.venv/bin/python bench/identity_eval.py [--split dev|test] [--cases]``. Targets (issue 4): item P >= 0.99,
R >= 0.97; story P >= 0.95, R >= 0.90.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

PROJECT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(PROJECT))

from db.store import Store  # noqa: E402
from monitor import identity  # noqa: E402
from monitor.core import dates, outlets  # noqa: E402
from monitor.core.model import RawItem  # noqa: E402
from monitor.prepare.normalise import normalise  # noqa: E402

PAIRS = PROJECT / "tests" / "fixtures" / "identity" / "pairs.jsonl"
ZONE = dates.zone("Asia/Shanghai")
TARGETS = {"item": (0.99, 0.97), "story": (0.95, 0.90)}


def load_pairs(path: Path = PAIRS) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def to_item(side: dict):
    raw = RawItem(title=side["title"], url=side.get("url"), publisher=side.get("publisher"),
                  published=side.get("published"))
    return normalise(raw, ZONE, origin=side.get("origin", "scraped"))


def decide(pair: dict) -> tuple[bool, bool]:
    """(one item?, one story?) for a pair, decided by the store."""
    store = Store(":memory:", ZONE)
    try:
        first = store.save_items([to_item(pair["a"])], source="a", run_id=None).item_ids[0]
        second = store.save_items([to_item(pair["b"])], source="b", run_id=None).item_ids[0]
        stories = dict(store.conn.execute("SELECT id, story_id FROM items").fetchall())
    finally:
        store.close()
    return first == second, stories[first] == stories[second]


@dataclass
class Score:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0
    failures: list = field(default_factory=list)

    def add(self, truth: bool, predicted: bool, pair: dict) -> None:
        if truth and predicted:
            self.tp += 1
        elif predicted:
            self.fp += 1
            self.failures.append(("false merge", pair))
        elif truth:
            self.fn += 1
            self.failures.append(("missed", pair))
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 1.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 1.0


@dataclass
class Report:
    pairs: int
    item: Score
    story: Score
    by_case: dict
    chinese: tuple[Score, Score] | None = None   # (item, story) on the pairs with Chinese titles
    by_class: dict = field(default_factory=dict)  # class -> (item, story) on the pairs of that class

    def meets_targets(self) -> bool:
        return all(getattr(self, level).precision >= p and getattr(self, level).recall >= r
                   for level, (p, r) in TARGETS.items())


def is_chinese(pair: dict) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in pair["a"]["title"] + pair["b"]["title"])


def evaluate(pairs: list[dict]) -> Report:
    item, story, chinese_item, chinese_story = Score(), Score(), Score(), Score()
    by_case: dict[str, Counter] = defaultdict(Counter)
    by_class: dict[str, tuple[Score, Score]] = defaultdict(lambda: (Score(), Score()))
    for pair in pairs:
        same_item, same_story = decide(pair)
        scores = [(item, story)] + ([(chinese_item, chinese_story)] if is_chinese(pair) else [])
        if pair.get("class"):
            scores.append(by_class[pair["class"]])
        for item_score, story_score in scores:
            item_score.add(pair["label"] == "dup", same_item, pair)
            story_score.add(pair["label"] in ("dup", "story"), same_story, pair)
        right = same_item == (pair["label"] == "dup") and same_story == (pair["label"] != "diff")
        by_case[f"{pair['label']}/{pair['case']}"]["right" if right else "wrong"] += 1
    return Report(len(pairs), item, story, dict(by_case), (chinese_item, chinese_story), dict(by_class))


# --- the measures the choice was made against (story level, pure functions on the titles) ------------------


def _title(side: dict) -> str:
    item = to_item(side)
    return item.title


def _grams(key: str, n: int) -> set[str]:
    return {key[i:i + n] for i in range(len(key) - n + 1)} or {key}


def exact_key(a: str, b: str) -> bool:
    return outlets.title_key(a) == outlets.title_key(b)


def jaccard_3grams(a: str, b: str, threshold: float = 0.8) -> bool:
    """What MinHash LSH at 0.8 over character 3-grams estimates (computed exactly here)."""
    x, y = _grams(outlets.title_key(a), 3), _grams(outlets.title_key(b), 3)
    return len(x & y) / len(x | y) >= threshold


def jaccard_3grams_05(a: str, b: str) -> bool:
    return jaccard_3grams(a, b, 0.5)


def dice_no_guards(a: str, b: str) -> bool:
    x, y = identity.headline(a), identity.headline(b)
    if x.key == y.key:
        return True
    shared = len(x.tokens & y.tokens)
    return bool(x.tokens and y.tokens) and 2 * shared / (len(x.tokens) + len(y.tokens)) >= identity.NEAR_DICE


def compare_only(a: str, b: str) -> bool:
    return identity.compare(identity.headline(a), identity.headline(b)) is not None


MEASURES = {
    "exact folded title (the foundation)": exact_key,
    "Jaccard of char 3-grams >= 0.8 (MinHash LSH 0.8)": jaccard_3grams,
    "Jaccard of char 3-grams >= 0.5": jaccard_3grams_05,
    "bigram Dice >= 0.6, no guards": dice_no_guards,
    "identity.compare (core, truncation, near, guards)": compare_only,
}


def measure_table(pairs: list[dict]) -> list[tuple[str, float, float]]:
    rows = []
    titles = [(_title(p["a"]), _title(p["b"])) for p in pairs]
    for name, function in MEASURES.items():
        score = Score()
        for pair, (a, b) in zip(pairs, titles, strict=True):
            score.add(pair["label"] != "diff", function(a, b), pair)
        rows.append((name, score.precision, score.recall))
    return rows


def _describe(pair: dict) -> str:
    return f"#{pair['id']} [{pair['label']}/{pair['case']}] {pair['a']['title']}  <>  {pair['b']['title']}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("dev", "test"), help="only the pairs of this split")
    parser.add_argument("--cases", action="store_true", help="also print right/wrong per case")
    args = parser.parse_args(argv)
    pairs = load_pairs()
    if args.split:
        pairs = [p for p in pairs if p["split"] == args.split]
    labels = Counter(p["label"] for p in pairs)
    chinese = sum(1 for p in pairs if is_chinese(p))
    print(f"pairs: {len(pairs)} ({labels['dup']} dup, {labels['story']} story, {labels['diff']} diff; "
          f"{chinese} Chinese)")
    report = evaluate(pairs)
    for level in ("item", "story"):
        score = getattr(report, level)
        p, r = TARGETS[level]
        print(f"{level:5} precision {score.precision:.3f} (target {p})  recall {score.recall:.3f} (target {r})  "
              f"[tp {score.tp}, fp {score.fp}, fn {score.fn}, tn {score.tn}]")
    for level, score in zip(("item", "story"), report.chinese, strict=True):
        print(f"  Chinese pairs only, {level:5}: precision {score.precision:.3f}  recall {score.recall:.3f}")
    for klass, (item_score, story_score) in sorted(report.by_class.items()):
        kept_apart = sum(1 for kind, _ in story_score.failures if kind == "false merge")
        print(f"  class {klass:16}: story precision {story_score.precision:.3f}  recall {story_score.recall:.3f}  "
              f"[tp {story_score.tp}, fp {story_score.fp}, fn {story_score.fn}, tn {story_score.tn}; "
              f"diff pairs merged {kept_apart} of {story_score.fp + story_score.tn}]  "
              f"item precision {item_score.precision:.3f}")
    print("\nstory level, measures compared (pure functions on the same pairs):")
    for name, precision, recall in measure_table(pairs):
        print(f"  {name:52} P {precision:.3f}  R {recall:.3f}")
    if args.cases:
        print("\nper case (right / wrong):")
        for case, counts in sorted(report.by_case.items()):
            print(f"  {case:40} {counts['right']:3} / {counts['wrong']}")
    for level in ("item", "story"):
        failures = getattr(report, level).failures
        print(f"\n{level}-level failures ({len(failures)}):")
        for kind, pair in failures:
            print(f"  {kind:11} {_describe(pair)}")
    return 0 if report.meets_targets() else 1


if __name__ == "__main__":
    sys.exit(main())
