"""news-monitor: follow a news topic over time and grow a de-duplicated corpus of headlines."""

__version__ = "0.1.0"
