"""Small helpers shared by the tests (writing config files)."""

from __future__ import annotations

from pathlib import Path

import yaml


def write_config(directory: Path, sources: list[dict], **overrides) -> Path:
    """A config.yaml in ``directory`` with a fast HTTP profile for local servers; returns its path."""
    data = {
        "database": "news.db",
        "timezone": "Asia/Shanghai",
        "topics": {"poverty": {"any": ["脫貧攻堅", "精準扶貧", "鄉村振興"]}},
        "http": {"timeout": "5s", "retries": 0, "per_host_delay": 0, "allow_private_networks": True},
        "sources": sources,
    }
    data.update(overrides)
    path = directory / "config.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path
