"""Labelled per-channel feature rows from the synthetic DAS generator, for training the fibre
event classifier and for measuring it on held-out windows."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edgectl.synthetic.das import DasEventTruth, DasWindowGenerator
from pipelines.fiber_sensing.classes import BACKGROUND, CLASSES
from pipelines.fiber_sensing.features import das_features
from pipelines.fiber_sensing.window import parse_das_window

IGNORED = -1
"""Label of channels at an event's fringe (past half its peak amplitude, still within its reach):
too faint to demand a detection, too close to call background."""


@dataclass(frozen=True)
class WindowRows:
    """Where one window's channels sit in the feature matrix, and the event it really holds."""

    start: int
    n_channels: int
    first_channel: int
    truth: DasEventTruth | None


@dataclass
class LabelledChannels:
    """Feature rows (one per channel of each window), their class index (`IGNORED` at an event's
    fringe), and the windows they came from."""

    features: npt.NDArray[np.float32]
    labels: npt.NDArray[np.int64]
    windows: list[WindowRows]


def channel_labels(truth: DasEventTruth | None, first_channel: int, n_channels: int) -> npt.NDArray[np.int64]:
    """Class index of every channel of a window: the event's class on its core channels,
    `IGNORED` on its fringe, background elsewhere."""
    labels = np.full(n_channels, BACKGROUND, dtype=np.int64)
    if truth is not None:
        channels = first_channel + np.arange(n_channels)
        labels[(channels >= truth.reach[0]) & (channels <= truth.reach[1])] = IGNORED
        labels[(channels >= truth.core[0]) & (channels <= truth.core[1])] = CLASSES.index(truth.kind)
    return labels


def generate_channels(
    *, fibers: int, rounds: int, seed: int, event_rate: float, channels: int = 64, region: str = "kr-seoul"
) -> LabelledChannels:
    """Run the generator for `rounds` rounds and build features exactly as the pipeline does
    (from the event as produced, through the contract's decoder)."""
    generator = DasWindowGenerator(
        region, "SYNTH-0001", fibers=fibers, channels=channels, seed=seed, event_rate=event_rate
    )
    blocks: list[npt.NDArray[np.float32]] = []
    labels: list[npt.NDArray[np.int64]] = []
    windows: list[WindowRows] = []
    start = 0
    for _ in range(rounds):
        for synthetic in generator.next_windows():
            window = parse_das_window(synthetic.labelled.event)
            blocks.append(das_features(window.samples, window.sample_rate_hz))
            labels.append(channel_labels(synthetic.truth, window.first_channel, window.n_channels))
            windows.append(WindowRows(start, window.n_channels, window.first_channel, synthetic.truth))
            start += window.n_channels
    return LabelledChannels(np.concatenate(blocks), np.concatenate(labels), windows)
