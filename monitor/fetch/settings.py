"""How every request is made: the ``http:`` settings of config.yaml, as the fetcher reads them."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class HttpSettings:
    """How every request is made; a source may override any field under its own ``http:``."""

    user_agent: str = "news-monitor/0.1 (+https://github.com/news-monitor)"
    timeout: float = 30.0            # seconds: the whole fetch, connect and body, must finish within it
    max_bytes: int = 10 * 1024 * 1024
    retries: int = 2
    per_host_delay: float = 1.0      # seconds between two requests to the same host
    per_host_concurrency: int = 1    # requests in flight at once to one host
    respect_robots: bool = True      # obey robots.txt (a robots.txt that cannot be fetched allows all)
    allow_private_networks: bool = False
