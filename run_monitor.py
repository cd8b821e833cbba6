#!/usr/bin/env python3
"""Entry point: ``python run_monitor.py [--config config.yaml] [run|once|seed|serve|export|status|check]``."""

import sys

from monitor.cli import main

if __name__ == "__main__":
    sys.exit(main())
