"""Labelled, redacted utterances from the synthetic generator, for training the classifier and
for measuring it on phrasings it has never seen."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from edgectl.synthetic.utterances import Phrasings, UtteranceGenerator
from pipelines.cs_insights.model import EMOTIONS, INTENTS
from pipelines.cs_insights.redaction import redact


@dataclass
class LabelledUtterances:
    """Redacted texts (what the pipeline featurizes) with class indices and who spoke."""

    texts: list[str]
    intents: npt.NDArray[np.int64]
    emotions: npt.NDArray[np.int64]
    speakers: npt.NDArray[np.str_]
    languages: npt.NDArray[np.str_]

    @property
    def customer(self) -> npt.NDArray[np.bool_]:
        customer: npt.NDArray[np.bool_] = self.speakers == "customer"
        return customer


def generate_utterances(
    *, sessions: int, rounds: int, seed: int, phrasings: Phrasings, pii_rate: float = 0.15
) -> LabelledUtterances:
    """Run the generator for `rounds` rounds and redact every text exactly as the pipeline does."""
    generator = UtteranceGenerator("kr-seoul", "SYNTH-0001", sessions=sessions, seed=seed, pii_rate=pii_rate, phrasings=phrasings)
    texts: list[str] = []
    intents: list[int] = []
    emotions: list[int] = []
    speakers: list[str] = []
    languages: list[str] = []
    for _ in range(rounds):
        for labelled in generator.next_round():
            intent, emotion = (labelled.label or "other/calm").split("/")
            texts.append(redact(labelled.event["text"]).text)
            intents.append(INTENTS.index(intent))
            emotions.append(EMOTIONS.index(emotion))
            speakers.append(labelled.event["speaker"])
            languages.append(labelled.event["language"])
    return LabelledUtterances(texts, np.array(intents), np.array(emotions), np.array(speakers), np.array(languages))
