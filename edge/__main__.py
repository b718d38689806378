"""Allows `python -m edge` wherever the console script is not on PATH."""

from edge.cli import main

main()
