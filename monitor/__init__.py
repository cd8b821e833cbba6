"""news-monitor: follow a news topic over time and grow a de-duplicated corpus of headlines.

The layers, bottom to top (each imports only those below it; ``tests/test_architecture.py`` holds them):

* ``monitor/core/``     the data model (``RawItem``, ``Item``, ``Article``, ``Page``), errors, and the text rules
  every part shares: folding, outlet suffixes, URLs, dates, encodings;
* ``monitor/fetch/``, ``monitor/identity/``, ``monitor/prepare/``, ``scrapers/``  independent of each other:
  the HTTP client; identity as pure rules; raw items -> items (normalise, topics, gate); the scraper kinds;
* ``db/``               the store (the one writer), schema, search, export, Datasette;
* ``monitor/config.py`` config.yaml -> settings;
* the application: ``spider.py`` and ``seeding.py``, ``pipeline.py`` (one run of one source), ``service.py``
  (the scheduler), ``cli.py`` (commands), and ``run_monitor.py`` at the top.
"""

__version__ = "0.1.0"
