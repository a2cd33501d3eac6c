#!/usr/bin/env python3
"""Tandem's command-line interface. ``./manage.py --help`` lists the commands."""

from core.cli import main

if __name__ == "__main__":
    main()
