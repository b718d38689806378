"""Errors of the site foundation, one tree:

    EdgeError
    ├── ResidencyViolation    a topic, accelerator or event lies outside the site's region
    └── SiteConfigError       settings that cannot work together (a ValueError too)

Each package above translates them at its own boundary: the pipeline runtime refuses to start on
a residency violation (`StartupRefused`) and sends a refused event to the DLQ with reason
`residency`; the `edge` command prints a configuration error as one line naming the variable.
"""

from __future__ import annotations


class EdgeError(Exception):
    """Base of every error of the site foundation."""


class ResidencyViolation(EdgeError):
    """A topic, accelerator or event lies outside the site's region."""


class SiteConfigError(EdgeError, ValueError):
    """Settings that cannot work together, named by their environment variables."""
