"""The one HTTP client every source uses: politeness, limits, a total deadline and conditional GET.

The rest of the code imports ``Fetcher``, ``FetchResult`` and ``HttpSettings`` from here. Inside, one module a job
(each imports only ``monitor.core``, third-party libraries and the modules listed above it):

* ``settings``  - ``HttpSettings``, the ``http:`` block of config.yaml;
* ``addresses`` - which network addresses are public (the address rule for links found on pages);
* ``robots``    - robots.txt rules per site, parsed and cached;
* ``deadline``  - the total deadline of a fetch and the watchdog that cuts a blocked socket;
* ``failures``  - every failure as a ``FetchError`` with its ``error_class`` and advice;
* ``hosts``     - per-host turns: requests in flight and the delay between two request starts;
* ``transport`` - requests' adapter and pools: the watchdog sees each socket, the address rule checks each peer;
* ``body``      - reading the body within the byte cap and the deadline; gzip without Content-Encoding; no binary;
* ``fetcher``   - ``Fetcher`` and ``FetchResult``: one fetch from the top (redirects, robots.txt, retries).
"""

from monitor.fetch.settings import HttpSettings

__all__ = ["Fetcher", "FetchResult", "HttpSettings"]


def __getattr__(name: str):
    """``Fetcher`` and ``FetchResult`` on first use: importing the package (for ``HttpSettings``, as config does)
    must not load requests, which commands that fetch nothing (``check``, ``status``) never need."""
    if name in ("Fetcher", "FetchResult"):
        from monitor.fetch import fetcher

        return getattr(fetcher, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
