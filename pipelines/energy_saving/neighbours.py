"""Which cells can take over each other's users: cells of one site (the same eNB/gNB) cover the
same area with different sectors or carriers, so a sleeping cell's users fall back to its
co-sited cells."""

from __future__ import annotations

import re

_CELL_ID = re.compile(r"^(?P<node>\d{3}-\d{2,3}-\d+)-\d+$")


def co_sited_group(cell_id: str) -> str:
    """The neighbour group of a cell: its PLMN and eNB/gNB id.

    Cell ids read `<MCC>-<MNC>-<eNB id>-<cell>` (e.g. `450-05-1193046-3` is in group
    `450-05-1193046`). A cell id of another shape is a group of its own, so it never sleeps:
    there is no known neighbour to carry its users.
    """
    match = _CELL_ID.match(cell_id)
    return match.group("node") if match else f"unknown:{cell_id}"
