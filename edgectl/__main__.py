"""Allows `python -m edgectl` wherever the console script is not on PATH."""

from edgectl.cli import main

main()
