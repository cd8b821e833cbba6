"""Identity: when two headlines are one item or one story, decided on Chinese text, as pure rules over values.

The layer above ``monitor.core`` and below ``db``: nothing here reads or writes the database. The store finds the
candidate rows (SQL) and writes the outcome; these modules decide.

* ``headlines``  the core of a headline (``headline()``): tags, cut marks, folding, tokens, numbers;
* ``matching``   whether two headlines report one story (``compare``) and a cheap look first (``quick_score``);
* ``guards``     the templated differences that veto a near-duplicate (another place, number, name...), and
                 another event of one subject (``another_event``);
* ``lexicon``    the event verbs and development words that guard reads;
* ``pages``      two pages of one site on two days (``recurring``): a recurring title, not one article;
* ``keys``       the index keys candidates are found by (``band_keys``, ``cut_keys``);
* ``thresholds`` the numbers the decisions use, set on the labelled pairs (``bench/identity_eval.py``);
* ``candidates`` the values decided on: a stored row, a candidate and its rank, an item's day;
* ``rules``      DESIGN.md's identity rules over the candidate rows the store found: which row is the same item;
* ``stories``    which candidate's story a new item joins (DESIGN rule 4).

The names below are the package's public face (``from monitor import identity; identity.headline(...)``).
"""

from monitor.identity.headlines import Headline, bigrams, headline
from monitor.identity.keys import KEYS_VERSION, band_keys, cut_keys, cut_lookup_keys
from monitor.identity.matching import Match, compare, quick_score
from monitor.identity.pages import distinct_pages, recurring, url_day
from monitor.identity.thresholds import CUT_PREFIX, MIN_FRAGMENT, NEAR_DICE, SPECIFIC_CHARS

__all__ = [
    "CUT_PREFIX",
    "KEYS_VERSION",
    "MIN_FRAGMENT",
    "NEAR_DICE",
    "SPECIFIC_CHARS",
    "Headline",
    "Match",
    "band_keys",
    "bigrams",
    "compare",
    "cut_keys",
    "cut_lookup_keys",
    "distinct_pages",
    "headline",
    "quick_score",
    "recurring",
    "url_day",
]
