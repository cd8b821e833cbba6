"""The labelled headline pairs meet issue 4's targets through the real store (bench/identity_eval.py)."""

from __future__ import annotations

import importlib.util
import sys

import pytest

from tests.conftest import PROJECT_DIR


@pytest.fixture(scope="module")
def evaluation():
    spec = importlib.util.spec_from_file_location("identity_eval", PROJECT_DIR / "bench" / "identity_eval.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["identity_eval"] = module     # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


def test_the_labelled_set_is_large_and_mostly_chinese(evaluation):
    pairs = evaluation.load_pairs()
    assert len(pairs) >= 300
    chinese = [p for p in pairs if any("\u4e00" <= ch <= "\u9fff" for ch in p["a"]["title"] + p["b"]["title"])]
    assert len(chinese) > len(pairs) / 2
    assert {p["label"] for p in pairs} == {"dup", "story", "diff"}
    assert len({p["id"] for p in pairs}) == len(pairs)


def test_item_and_story_precision_and_recall_meet_the_targets(evaluation):
    report = evaluation.evaluate(evaluation.load_pairs())
    for level, (precision, recall) in evaluation.TARGETS.items():
        score = getattr(report, level)
        assert score.precision >= precision, (level, score.failures)
        assert score.recall >= recall, (level, score.failures)


def test_issue_11_stories_a_shared_subject_is_not_a_shared_event(evaluation):
    """Issue 11 (point 8), measured after the predicate guard: item figures unchanged, story precision at least 0.99
    and recall at least the 0.924 measured before the 110 pairs of issue 11 were added, the contained-title class
    at 0.99 and the shared-subject class at 0.99 (bench/README.md)."""
    report = evaluation.evaluate(evaluation.load_pairs())
    assert report.item.precision == 1.0 and report.item.recall >= 98 / 99, report.item.failures
    assert report.story.precision >= 0.99 and report.story.recall >= 0.924, report.story.failures
    assert set(report.by_class) == {"contained-title", "shared-subject"}
    contained, shared = report.by_class["contained-title"][1], report.by_class["shared-subject"][1]
    assert contained.precision >= 0.99 and contained.recall >= 0.95, contained.failures
    assert shared.precision >= 0.99 and shared.recall >= 0.90, shared.failures
