"""Topic rules: does a headline belong to a configured topic?

A rule (``topics:`` in config.yaml) lists keywords. Keywords and text are compared in the folded
form of ``monitor.core.fold.fold_text``, so a keyword written in traditional script (脫貧攻堅) matches
simplified text (脱贫攻坚) and the reverse, and width, punctuation and spaces inside the text
(``脫貧 攻堅``, ``ＡＢＣ``) do not block a match.

Matching is by substring of the folded text: right for Chinese, where words are not delimited, but
an ASCII keyword such as ``ai`` also matches inside ``said``. Write ASCII keywords long enough to be
specific.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache

from monitor.core.fold import fold_text

__all__ = ["TopicRule", "fold_for_topics", "match_topic", "match_topics"]


@dataclass(frozen=True)
class TopicRule:
    """One topic: matches when (``any`` is empty or one of its keywords occurs) and every ``all``
    keyword occurs and no ``exclude`` keyword does.

    A rule with neither ``any`` nor ``all`` keywords matches nothing.
    """

    name: str
    any: tuple[str, ...] = ()
    all: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Compiled:
    any: tuple[tuple[str, str], ...]      # (keyword as written, folded keyword)
    all: tuple[tuple[str, str], ...]
    exclude: tuple[str, ...]              # folded only
    matches_nothing: bool


def _fold_keywords(keywords: Iterable[str]) -> tuple[tuple[str, str], ...]:
    # A keyword that folds to nothing ("。", " ") is ignored rather than matching everything.
    return tuple((kw, folded) for kw in keywords if (folded := fold_text(kw)))


@lru_cache(maxsize=1024)
def _compile(rule: TopicRule) -> _Compiled:
    any_ = _fold_keywords(rule.any)
    all_ = _fold_keywords(rule.all)
    exclude = tuple(folded for _, folded in _fold_keywords(rule.exclude))
    return _Compiled(any_, all_, exclude, matches_nothing=not any_ and not all_)


def fold_for_topics(title: str | None, summary: str | None = None) -> str:
    """The text a rule is matched against: title and summary folded, kept apart by a line break.

    The break (never present in folded text, nor in a folded keyword) stops a keyword from
    matching across the end of the title and the start of the summary.
    """
    folded_title = fold_text(title or "")
    folded_summary = fold_text(summary or "")
    return f"{folded_title}\n{folded_summary}" if folded_summary else folded_title


def match_topic(rule: TopicRule, folded_text: str) -> list[str] | None:
    """The keywords (as written in config) that made ``rule`` match ``folded_text``, or ``None``.

    ``folded_text`` is text folded with ``fold_text`` (see ``fold_for_topics``). The result lists
    the matching ``any`` keywords, then the ``all`` keywords, without repeats.
    """
    compiled = _compile(rule)
    if compiled.matches_nothing:
        return None
    if any(folded in folded_text for folded in compiled.exclude):
        return None
    if not all(folded in folded_text for _, folded in compiled.all):
        return None
    hits = [kw for kw, folded in compiled.any if folded in folded_text]
    if compiled.any and not hits:
        return None
    matched: list[str] = []
    for kw in hits + [kw for kw, _ in compiled.all]:
        if kw not in matched:
            matched.append(kw)
    return matched


def match_topics(rules: Iterable[TopicRule], title: str, summary: str | None) -> dict[str, list[str]]:
    """Topic name -> matched keywords, for every rule in ``rules`` that matches the title and summary."""
    folded = fold_for_topics(title, summary)
    result: dict[str, list[str]] = {}
    for rule in rules:
        matched = match_topic(rule, folded)
        if matched is not None:
            result[rule.name] = matched
    return result


def wanted(matched: dict[str, list[str]], source_topics: Iterable[str]) -> bool:
    """Whether a source keeps an item: it has no ``topics:`` (it keeps everything), or the item matched one of them.

    Keeping and labelling are apart: an item is labelled with every configured topic it matches (DESIGN.md), and a
    source's own topics only decide what it keeps (and, for the spider, which links it follows).
    """
    source_topics = tuple(source_topics)
    return not source_topics or not matched.keys().isdisjoint(source_topics)
