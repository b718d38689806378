"""Errors of the pipeline runtime.

    PipelineError
    ├── AcceleratorUnavailable   no healthy accelerator answered in time (retriable)
    ├── InferenceRejected        an accelerator refused the request (not retriable -> DLQ)
    ├── BatchAbandoned           shutdown came before the batch finished; it is not committed
    └── StartupRefused           configuration breaks residency or cannot work
"""

from __future__ import annotations

from typing import ClassVar


class PipelineError(Exception):
    """Base of every pipeline runtime error."""

    retriable: ClassVar[bool] = False


class AcceleratorUnavailable(PipelineError):
    retriable = True


class InferenceRejected(PipelineError):
    pass


class BatchAbandoned(PipelineError):
    pass


class StartupRefused(PipelineError):
    pass
