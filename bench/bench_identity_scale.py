"""Identity at scale: decisions for batches of 1,000 new items against 1,000,000 stored ones.

Builds (once, in a child process; reused while its parameters match) a SQLite corpus of synthetic Chinese
headlines through the store's own schema and keys: templated headlines (a place, an organ, a verb, a topic, an
event; numbered press conferences; dated counts), free-form headlines from common characters, reprints by other
outlets (the same words or reworded, sharing a story), and 1% of titles cut short with "...". Two years of dates,
about 1,400 items a day.

Then it opens the corpus with ``Store`` (timed: nothing is loaded into Python at start-up) and times

* the first item, which reads the last ``WINDOW_CACHE_DAYS`` days' keys into memory (db/story_index.py);
* ``Store.identify`` on a batch of 1,000 new items dated in the corpus's last week (the densest story windows):
  URL duplicates, the same title from another outlet, rewordings, titles cut short and their full forms,
  templated siblings (another place or number: must stay apart), and unseen headlines; then on further batches
  of the same mix (different items), as a running service sees them;
* ``Store.save_items`` on three batches, in a copy of the corpus (identity plus every write: rows, sightings, story
  keys, stories, the search index).

It prints throughput, the first batch's decisions by what each item was made to be, peak Python memory
(tracemalloc) and resident memory, and the on-disk size of the indexes. Issue 4 asks for >= 5,000 items/s with
the index using <= 1 GB of memory.

    .venv/bin/python bench/bench_identity_scale.py                       # 1,000,000 stored items
    .venv/bin/python bench/bench_identity_scale.py --items 100000        # a quicker look
    .venv/bin/python bench/bench_identity_scale.py --db /tmp/corpus.db   # where the corpus is kept
"""

from __future__ import annotations

import argparse
import random
import resource
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from db.schema import SCHEMA_VERSION  # noqa: E402
from db.search import index_rows  # noqa: E402
from db.store import Store  # noqa: E402
from db.story_index import WINDOW_CACHE_DAYS  # noqa: E402
from monitor import identity  # noqa: E402
from monitor.core import dates, outlets, urls  # noqa: E402
from monitor.core.model import RawItem  # noqa: E402
from monitor.identity.candidates import event_day  # noqa: E402
from monitor.prepare.normalise import normalise  # noqa: E402

ZONE = dates.zone("Asia/Shanghai")
LAST_DAY = date(2020, 12, 31)
DAYS = 730
SEED = 20201215
CORPUS_VERSION = SEED + 100 * SCHEMA_VERSION + identity.KEYS_VERSION   # a corpus made otherwise is built again

# Place names: from a small pool, as real ones repeat characters (安, 平, 山...).
_POOL = ("东西南北中安平宁和兴华新长永昌荣富贵德顺泰丰源清明阳山川河江湖海峰岭石林田桥城关门营庄集店铺坪沟"
         "峪台湾岛金银铜铁云龙凤鹤鹿松竹梅兰菊桃李杏柳杨槐榆枫")
# Words of free-form headlines: from about 600 common characters, as news headlines' vocabulary is.
_COMMON = ("的一是在不了有和人这中大为上个国我以要他时来用们生到作地于出就分对成会可主发年动同工也能下过子说产种面而"
           "方后多定行学法所民得经十三之进着等部度家电力里如水化高自二理起小物现实加量都两体制机当使点从业本去把性好"
           "应开它合还因由其些然前外天政四日那社义事平形相全表间样与关各重新线内数正心反你明看原又么利比或但质气第向"
           "道命此变条只没结解问意建月公无系军很情者最立代想已通并提直题党程展五果料象员革位入常文总次品式活设及管特"
           "件长求老头基资边流路级少图山统接知较将组见计别她手角期根论运农指几九区强放决西被干做必战先回则任取据处队"
           "南给色光门即保治北造百规热领七海口东导器压志世金增争济阶油思术极交受联什认六共权收证改清己美再采转更单风"
           "切打白教速花带安场身车例真务具万每目至达走积示议声报斗完类八离华名确才科张信马节话米整空元况今集温传土许"
           "步群广石记需段研界拉林律叫且究观越织装影算低持音众书布复容儿须际商非验连断深难近矿千周委素技备半办青省列"
           "习响约支般史感劳便团往酸历市克何除消构府称太准精值号率族维划选标写存候毛亲快效斯院查江型眼王按格养易置派"
           "层片始却专状育厂京识适属圆包火住调满县局照参红细引听该铁价严首底液官德随病苏失尔死讲配女黄推显谈罪神艺呢"
           "席含企望密批营项防举球英氧势告李台落木帮轮破亚师围注远字材排供河态封另施减树溶怎止案言士均武固叶鱼波视仅"
           "费紧爱左章早朝害续轻服试食充兵源判护司足某练差致板田降黑犯负击范继兴似余坚曲输修故城夫够送笔船占右财吃富"
           "春职觉汉画功巴跟虽杂飞检吸助升阳互初创抗考投坏策古径换未跑留钢曾端责站简述钱副尽帝射草冲承独令限阿宣环双"
           "请超微让控州良轴找否纪益依优顶础")
PLACE_SUFFIXES = "县市区镇乡村"
ORGANS = ("省委", "市委", "县委", "省政府", "市政府", "县政府", "扶贫办", "人大常委会", "政协", "纪委监委", "教育局",
          "卫健委", "农业农村局", "公安局", "法院", "团委", "妇联")
VERBS = ("召开", "举行", "部署", "推进", "开展", "启动", "组织召开", "专题研究", "安排部署")
TOPICS = ("脱贫攻坚", "乡村振兴", "疫情防控", "安全生产", "防汛救灾", "招商引资", "营商环境", "生态环境保护",
          "教育改革", "医疗保障", "基层党建", "扫黑除恶", "文明城市创建", "农村人居环境整治", "产业扶贫", "消费扶贫",
          "就业扶贫",
          "易地扶贫搬迁", "控辍保学", "饮水安全", "冬春火灾防控", "秸秆禁烧", "河长制", "林长制")
EVENTS = ("誓师大会", "座谈会", "推进会", "现场会", "新闻发布会", "专题会议", "工作会议", "动员大会", "培训班",
          "调度会", "观摩会", "总结大会", "约谈会", "交流会")
OUTCOMES = ("取得阶段性成效", "跑出加速度", "交出亮眼成绩单", "按下快进键", "迈出坚实步伐", "再上新台阶", "见行见效",
            "answers", "全面完成年度任务", "群众满意度持续提升", "筑牢安全防线", "激发内生动力")
PUBLISHERS = tuple(f"{a}{b}" for a in ("人民", "新华", "央视", "澎湃", "光明", "中新", "环球", "南方", "北京", "湖南",
                                       "甘肃", "四川", "河南", "广西", "云南", "山东")
                   for b in ("网", "日报", "新闻"))
PREFIXES = ("外媒：", "独家：", "记者调查：", "图解：", "最新！", "关注：")
SYNONYM_SWAPS = (("召开", "举行"), ("部署", "安排"), ("推进", "推动"), ("开展", "组织"))


def make_words(rng: random.Random, n: int) -> list[str]:
    return ["".join(rng.choice(_POOL) for _ in range(rng.choice((2, 2, 3)))) for _ in range(n)]


class Generator:
    """Synthetic Chinese headlines, reproducible from a seed."""

    def __init__(self, seed: int = SEED):
        rng = random.Random(SEED)                 # the same places and words for every generator (batches too)
        self.places = sorted({w + rng.choice(PLACE_SUFFIXES) for w in make_words(rng, 3000)})
        self.words = ["".join(rng.choice(_COMMON) for _ in range(rng.choice((2, 2, 2, 3, 4)))) for _ in range(20000)]
        self.rng = random.Random(seed)

    def headline(self) -> str:
        r, rng = self.rng.random(), self.rng
        if r < 0.40:
            return f"{rng.choice(self.places)}{rng.choice(ORGANS)}{rng.choice(VERBS)}{rng.choice(TOPICS)}" \
                   f"{rng.choice(EVENTS)}"
        if r < 0.55:
            return f"{rng.choice(self.places)}：{rng.choice(TOPICS)}{rng.choice(OUTCOMES)}"
        if r < 0.62:
            return f"{rng.choice(self.places)}举行第{rng.randint(1, 300)}场{rng.choice(TOPICS)}新闻发布会"
        if r < 0.72:
            return f"{rng.randint(1, 12)}月{rng.randint(1, 28)}日{rng.choice(self.places)}新增" \
                   f"{rng.choice(TOPICS)}项目{rng.randint(2, 99)}个"
        return "".join(rng.choice(self.words) for _ in range(rng.randint(3, 6))) + rng.choice(("", "，", " ")) + \
            "".join(rng.choice(self.words) for _ in range(rng.randint(1, 3)))

    def reword(self, title: str) -> str:
        rng = self.rng
        for a, b in SYNONYM_SWAPS:
            if a in title and rng.random() < 0.7:
                return title.replace(a, b, 1)
        if rng.random() < 0.5:
            return rng.choice(PREFIXES) + title
        return title + rng.choice(("，成效明显", " 多方回应", "（附全文）", " 现场直击"))

    def sibling(self, title: str) -> str:
        """The same template with another place or number; for a free-form headline, another word in its first
        slot (a subject): a different story each time."""
        for place in sorted(self.places, key=len, reverse=True):
            if title.startswith(place):
                other = self.rng.choice([p for p in self.places if p != place])
                return other + title[len(place):]
        digits = [i for i, ch in enumerate(title) if ch.isdigit()]
        if digits:
            i = digits[-1]
            return title[:i] + str((int(title[i]) + 1) % 10) + title[i + 1:]
        for word in self.words:
            if title.startswith(word) and len(word) >= 2:
                other = self.rng.choice([w for w in self.words[:500] if len(w) == len(word) and w != word])
                return other + title[len(word):]
        return self.rng.choice(self.places) + "：" + title


def build_corpus(path: Path, n_items: int) -> None:
    """Write n_items rows through the store's schema, with the keys ``save_items`` would give them."""
    gen = Generator()
    rng = gen.rng
    path.unlink(missing_ok=True)
    Store(path, ZONE).close()                     # the schema, migrations included
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=OFF")
    conn.execute("PRAGMA cache_size=-400000")
    start = time.perf_counter()
    per_day = n_items / DAYS
    recent: list[tuple[int, str, str, int]] = []   # (story id, title, publisher, day) of the last few hundred items
    story_id = 0
    batch_items, batch_keys, batch_stories = [], [], []
    for index in range(n_items):
        item_id = index + 1
        day = LAST_DAY - timedelta(days=DAYS - 1 - int(index / per_day))
        published = datetime(day.year, day.month, day.day, rng.randint(6, 22), rng.randint(0, 59), tzinfo=ZONE)
        publisher = rng.choice(PUBLISHERS)
        r = rng.random()
        if r < 0.10 and recent:                     # a reprint by another outlet: the same story
            story, original, _, _ = rng.choice(recent[-300:])
            title = original if r < 0.05 else gen.reword(original)
            new_story = False
        else:
            title, new_story = gen.headline(), True
            story = None
        if rng.random() < 0.01:                     # a list page that cut the title short
            title = title[: max(8, int(len(title) * 0.7))] + "..."
        if new_story:
            story_id += 1
            story = story_id
            batch_stories.append((story, title, identity.headline(title).key, published.isoformat()))
        h = identity.headline(title)
        published_at = dates.iso(published)
        url = f"http://news{PUBLISHERS.index(publisher)}.example.cn/{day:%Y%m%d}/{item_id}.html"
        batch_items.append((item_id, title, url, publisher, published_at, published_at, published_at, story,
                            h.cut, urls.canonical_url(url), outlets.title_key(title), outlets.publisher_key(publisher),
                            h.key, "new" if new_story else "title"))
        day_number = event_day(published_at, published_at)    # the rows StoryIndex.add writes
        batch_keys.extend((day_number, key, item_id) for key in identity.band_keys(h.tokens))
        batch_keys.extend((0, key, item_id) for key in identity.cut_keys(h))
        recent.append((story, title, publisher, day_number))
        if len(recent) > 2000:
            del recent[:1000]
        if len(batch_items) >= 50_000 or index == n_items - 1:
            with conn:
                conn.executemany(
                    "INSERT INTO items (id, title, url, publisher, published_at, first_seen_at, last_seen_at, "
                    "story_id, title_cut, url_key, title_key, publisher_key, core_key, story_matched_by, origin) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'scraped')", batch_items)
                conn.executemany(
                    "INSERT INTO stories (id, title, story_key, items, publishers, first_seen_at, last_seen_at) "
                    "VALUES (?, ?, ?, 0, 0, ?, ?)", [(s, t, k, p, p) for s, t, k, p in batch_stories])
                conn.executemany("INSERT OR IGNORE INTO story_keys (day, key, item_id) VALUES (?, ?, ?)",
                                 sorted(batch_keys))
            print(f"  corpus: {index + 1:,} items ({time.perf_counter() - start:.0f} s)", flush=True)
            batch_items, batch_keys, batch_stories = [], [], []
    with conn:                           # rows whose title a merge may replace must be in the search index
        index_rows(conn, conn.execute("SELECT id, title, summary, publisher FROM items WHERE title_cut != ''"))
        conn.execute("""UPDATE stories SET items = c.n, publishers = c.p FROM
                        (SELECT story_id, count(*) AS n, count(DISTINCT publisher_key) AS p
                         FROM items GROUP BY story_id) AS c WHERE c.story_id = stories.id""")
        conn.execute("CREATE TABLE IF NOT EXISTS bench_meta (items INTEGER, seed INTEGER)")
        conn.execute("DELETE FROM bench_meta")
        conn.execute("INSERT INTO bench_meta VALUES (?, ?)", (n_items, CORPUS_VERSION))
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    print(f"  corpus built in {time.perf_counter() - start:.0f} s")


def corpus_ready(path: Path, n_items: int) -> bool:
    if not path.exists():
        return False
    try:
        conn = sqlite3.connect(path)
        row = conn.execute("SELECT items, seed FROM bench_meta").fetchone()
        conn.close()
    except sqlite3.Error:
        return False
    return row == (n_items, CORPUS_VERSION)


def make_batch(path: Path, size: int, number: int = 1) -> tuple[list, Counter, list[str]]:
    """Batch ``number`` of new items in the corpus's last week (different numbers, different items), and what each
    was made to be."""
    gen = Generator(SEED + number)
    rng = gen.rng
    conn = sqlite3.connect(path)
    since = (LAST_DAY - timedelta(days=6)).isoformat()
    stored = conn.execute("SELECT title, url, publisher, published_at FROM items WHERE published_at >= ? "
                          "AND title_cut = '' ORDER BY id DESC LIMIT 20000", (since,)).fetchall()
    cut = conn.execute("SELECT title, publisher, published_at FROM items WHERE published_at >= ? "
                       "AND title_cut = 'end' ORDER BY id DESC LIMIT 2000", (since,)).fetchall()
    conn.close()
    plan = [("url", 150), ("same-title", 100), ("reworded", 100), ("cut", 50), ("cut-completed", 50),
            ("templated-sibling", 150), ("unseen", size - 600)]
    raws, kinds = [], Counter()
    for kind, count in plan:
        for _ in range(count):
            title, url, publisher, published = rng.choice(stored)
            other = rng.choice([p for p in PUBLISHERS if p != publisher])
            new_url = f"http://fresh{rng.randint(0, 10**9)}.example.cn/a.html"
            if kind == "url":
                raw = RawItem(title=title, url=url, publisher=publisher, published=published)
            elif kind == "same-title":
                raw = RawItem(title=title, url=new_url, publisher=other, published=published)
            elif kind == "reworded":
                raw = RawItem(title=gen.reword(title), url=new_url, publisher=other, published=published)
            elif kind == "cut":
                raw = RawItem(title=title[: max(9, int(len(title) * 0.75))] + "...", publisher=publisher,
                              published=published)
            elif kind == "cut-completed" and cut:
                fragment, cut_publisher, cut_published = rng.choice(cut)
                raw = RawItem(title=fragment[:-3] + "的最新进展", url=new_url, publisher=cut_publisher,
                              published=cut_published)
            elif kind == "templated-sibling":
                raw = RawItem(title=gen.sibling(title), url=new_url, publisher=publisher, published=published)
            else:
                raw = RawItem(title=gen.headline(), url=new_url, publisher=other, published=published)
            raws.append((raw, kind))
            kinds[kind] += 1
    rng.shuffle(raws)
    made = [(normalise(raw, ZONE), kind) for raw, kind in raws]
    made = [(item, kind) for item, kind in made if item is not None]
    return [item for item, _ in made], kinds, [kind for _, kind in made]


def index_sizes(path: Path) -> dict[str, int]:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    except sqlite3.OperationalError:
        return {}
    finally:
        conn.close()
    return dict(rows)


def write_decisions(path: Path, batches: list, decided: list) -> None:
    """One line per item of every batch: what it is, the row it is the same as and the rule, else its story."""
    with open(path, "w", encoding="utf-8") as out:
        for number, ((items, _, kinds), decisions) in enumerate(zip(batches, decided, strict=True), start=1):
            for item, kind, d in zip(items, kinds, decisions, strict=True):
                out.write(f"{number}\t{kind}\t{item.title}\t{item.url}\t{d.item_id}\t{d.rule}\t{d.story_id}\t"
                          f"{d.story_rule}\t{d.story.item_id if d.story else None}\n")
    print(f"decisions: {sum(map(len, decided)):,} written to {path}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000, help="stored items in the corpus")
    parser.add_argument("--batch", type=int, default=1000, help="new items to decide")
    parser.add_argument("--batches", type=int, default=4, help="batches timed after the first")
    parser.add_argument("--db", type=Path, default=Path(tempfile.gettempdir()) / "news-monitor-identity-corpus.db")
    parser.add_argument("--decisions", type=Path, help="write every item's decision here, one line each (to diff two "
                                                           "versions of the code on one corpus)")
    parser.add_argument("--build-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.build_only:
        build_corpus(args.db, args.items)
        return 0
    if corpus_ready(args.db, args.items):
        print(f"corpus: {args.db} ({args.items:,} items, reused)")
    else:
        # in a child process: the timings below must not pay for the builder's garbage (its heap is ~1 GB)
        print(f"corpus: building {args.items:,} items in {args.db}", flush=True)
        subprocess.run([sys.executable, __file__, "--build-only", "--items", str(args.items), "--db", str(args.db)],
                       check=True)
    batches = [make_batch(args.db, args.batch, number) for number in range(1, args.batches + 2)]
    print(f"batches: {len(batches)} x {args.batch} new items: " +
          ", ".join(f"{k} {v}" for k, v in batches[0][1].items()))
    for name, size in sorted(index_sizes(args.db).items()):
        if name in ("story_keys", "items") or name.startswith("idx_items_"):
            print(f"  on disk: {name:32} {size / 2**20:8.1f} MiB")

    started = time.perf_counter()
    store = Store(args.db, ZONE)
    print(f"open: Store() on the corpus took {(time.perf_counter() - started) * 1000:.0f} ms "
          f"(nothing is loaded into Python)")
    started = time.perf_counter()
    store.identify(batches[0][0][:1])            # the first item reads the recent days' keys into memory
    window = store.story_index._cache
    print(f"first item: {time.perf_counter() - started:.2f} s, reading the last {WINDOW_CACHE_DAYS} days' keys "
          f"({len(window) if window else 0:,} items) into memory")
    started = time.perf_counter()
    decisions = store.identify(batches[0][0])
    first = time.perf_counter() - started
    print(f"identify, first batch: {len(batches[0][0]) / first:,.0f} items/s (headlines of stored items not yet "
          f"cached)")
    rules = Counter(d.rule or ("story:" + d.story_rule if d.story else "new story") for d in decisions)
    print("  decided: " + ", ".join(f"{k} {v}" for k, v in rules.most_common()))
    by_kind: dict[str, Counter] = {}
    for raw_kind, decision in zip(batches[0][2], decisions, strict=True):
        by_kind.setdefault(raw_kind, Counter())[decision.rule or (decision.story_rule or "new story")] += 1
    for kind, counts in by_kind.items():
        print(f"    {kind:18} " + ", ".join(f"{k} {v}" for k, v in counts.most_common()))
    rates, cpu_rates, decided = [], [], [decisions]
    for batch, _, _ in batches[1:]:
        started, cpu = time.perf_counter(), time.process_time()
        decided.append(store.identify(batch))
        rates.append(len(batch) / (time.perf_counter() - started))
        cpu_rates.append(len(batch) / (time.process_time() - cpu))
    if args.decisions:
        write_decisions(args.decisions, batches, decided)
    print(f"identify, next {len(rates)} batches (a running service): median {statistics.median(rates):,.0f} items/s "
          f"(min {min(rates):,.0f}, max {max(rates):,.0f}); per CPU second: median "
          f"{statistics.median(cpu_rates):,.0f} items")
    cache_mib = -store.conn.execute("PRAGMA cache_size").fetchone()[0] / 1024
    store.close()

    identity.headline.cache_clear()                 # memory, measured apart (tracemalloc slows what it watches)
    identity.band_keys.cache_clear()
    tracemalloc.start()
    store = Store(args.db, ZONE)
    for batch, _, _ in batches:
        store.identify(batch)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    window = store.story_index._cache
    mapped = window.mapped_bytes() if window is not None else 0
    store.close()
    print(f"memory: peak Python allocations {peak / 2**20:.0f} MiB over all batches (the in-memory window and the "
          f"caches of headlines), plus the window's key arrays {mapped / 2**20:.1f} MiB (mapped apart, not traced); "
          f"SQLite page cache at most {cache_mib:.0f} MiB; the index itself is in the file")

    with tempfile.TemporaryDirectory() as scratch:
        copy = Path(scratch) / "copy.db"
        shutil.copyfile(args.db, copy)
        store = Store(copy, ZONE)
        store.identify(batches[0][0][:1])
        saves = []
        for batch, _, _ in batches[:3]:
            started = time.perf_counter()
            store.save_items(batch, source="bench", run_id=None)
            saves.append(len(batch) / (time.perf_counter() - started))
        store.close()
    print(f"save_items (identity and every write: rows, sightings, story keys, stories, search index): "
          f"median {statistics.median(saves):,.0f} items/s over {len(saves)} batches")
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak resident memory of this process: {rss:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
