"""What the fibre-event classifier tells apart, in the order of its output columns, and how
urgently field operations must act on each."""

from __future__ import annotations

from typing import Literal

CLASSES = ("background", "walking", "vehicle", "digging", "knocking", "cable_strain")
"""Column order of the model's `probabilities` output; `background` is no event at all."""
BACKGROUND = 0
Severity = Literal["high", "medium", "low"]
SEVERITY: dict[str, Severity] = {
    "digging": "high",  # excavation is how most fibre cuts happen
    "cable_strain": "high",  # a pulled or crushed cable, often just before a break
    "knocking": "medium",  # tapping on a cable or a manhole: tampering
    "vehicle": "low",
    "walking": "low",
}
