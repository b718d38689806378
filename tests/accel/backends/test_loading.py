"""Whatever a runtime raises while loading one model becomes that model's ModelConfigError: the
other models still load and the index says what went wrong."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

import pytest

from accel.repository import ModelRepository
from accel.steps import Step, StepContext
from accel.steps.registry import STEP_KINDS


class ExplodingStepKind:
    """A step kind with a bug: it accepts any options and raises a plain RuntimeError when built
    (failure injection; no real step fails this way on purpose)."""

    def check(self, options: Mapping[str, object]) -> None:
        pass

    def build(self, options: Mapping[str, object], context: StepContext) -> Step:
        raise RuntimeError("a bug in a step")


async def test_an_unexpected_load_failure_is_that_models_alone(
    doubler_repository: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(STEP_KINDS, "exploding", ExplodingStepKind())
    model_dir = doubler_repository / "buggy"
    (model_dir / "1").mkdir(parents=True)
    (model_dir / "config.json").write_text(json.dumps({"backend": "pipeline", "steps": [{"step": "exploding"}]}))
    repository = ModelRepository(doubler_repository)
    await repository.load_all()
    try:
        assert repository.names() == ["doubler"]
        [buggy] = [s for s in repository.index() if s.name == "buggy"]
        assert buggy.state == "UNAVAILABLE"
        assert buggy.reason == (
            f"{model_dir / '1'}: backend 'pipeline' failed to load this version: RuntimeError('a bug in a step')"
        )
    finally:
        await repository.close()
