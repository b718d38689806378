"""From per-channel class probabilities to located events: confident non-background channels of
one class that lie next to each other become one span, placed at its centre of excess power."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from pipelines.fiber_sensing.classes import BACKGROUND, CLASSES


@dataclass(frozen=True)
class AlertPolicy:
    """When channels raise an alert, and which of them belong together.

    Example: `AlertPolicy(min_confidence=0.8, max_gap_channels=1)`: a channel counts when its most
    likely class is not background with probability 0.8 or more; channels of one class join one
    span when at most one channel that does not count lies between them.
    """

    min_confidence: float = 0.8
    max_gap_channels: int = 1

    def __post_init__(self) -> None:
        if not 0 < self.min_confidence <= 1:
            raise ValueError(f"min_confidence must be within (0, 1], got {self.min_confidence}")
        if self.max_gap_channels < 0:
            raise ValueError(f"max_gap_channels must be >= 0, got {self.max_gap_channels}")


@dataclass(frozen=True)
class ChannelSpan:
    """One detected event in a window; channels are indices within the window (inclusive)."""

    event_class: str
    first: int
    last: int
    channel: int
    """Where the event is: the span's centre of excess power."""
    confidence: float
    """Mean probability of the class over the span's counted channels."""


def detect_spans(
    probabilities: npt.NDArray[np.float32],
    excess_power: npt.NDArray[np.float64],
    policy: AlertPolicy,
) -> list[ChannelSpan]:
    """The events of one window, in channel order.

    Args:
        probabilities: `[n_channels, len(CLASSES)]` from the classifier.
        excess_power: `[n_channels]`, each channel's power over the window's median channel
            (`features.excess_power`); it places the event within its span.
    """
    if probabilities.ndim != 2 or probabilities.shape[1] != len(CLASSES):
        raise ValueError(f"probabilities must be [n_channels, {len(CLASSES)}], got {probabilities.shape}")
    if excess_power.shape != probabilities.shape[:1]:
        raise ValueError(f"excess_power must be [{probabilities.shape[0]}], got {excess_power.shape}")
    best = np.argmax(probabilities, axis=1)
    confidence = probabilities[np.arange(len(best)), best]
    counted = np.flatnonzero((best != BACKGROUND) & (confidence >= policy.min_confidence))
    spans: list[ChannelSpan] = []
    run: list[int] = []
    for channel in counted:
        if run and (best[channel] != best[run[-1]] or channel - run[-1] > policy.max_gap_channels + 1):
            spans.append(_span(run, best, confidence, excess_power))
            run = []
        run.append(int(channel))
    if run:
        spans.append(_span(run, best, confidence, excess_power))
    return spans


def _span(
    run: list[int],
    best: npt.NDArray[np.intp],
    confidence: npt.NDArray[np.float32],
    excess_power: npt.NDArray[np.float64],
) -> ChannelSpan:
    first, last = run[0], run[-1]
    weights = excess_power[first : last + 1]
    total = float(weights.sum())
    if total > 0:
        channel = first + round(float(np.dot(weights, np.arange(len(weights)))) / total)
    else:
        channel = run[int(np.argmax(confidence[run]))]
    return ChannelSpan(
        event_class=CLASSES[int(best[first])],
        first=first,
        last=last,
        channel=channel,
        confidence=float(np.mean(confidence[run])),
    )
