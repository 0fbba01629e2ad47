"""The AI core: caching, routing, metering and budgets for every AI call."""

from .core import AICore, AISettings
from .errors import (
    AIError,
    AllProvidersFailedError,
    BudgetExceededError,
    DeadlineExceededError,
    InvalidOutputError,
    OfflineUnsupportedError,
    ProviderCallError,
    ProviderNotConfiguredError,
)
from .results import AudioResult, EmbeddingResult, TextResult, TranscriptionResult, UsageMeter
from .tasks import AITask

__all__ = [
    "AICore", "AISettings", "AITask", "AIError", "AllProvidersFailedError", "BudgetExceededError",
    "DeadlineExceededError",
    "InvalidOutputError", "OfflineUnsupportedError", "ProviderCallError", "ProviderNotConfiguredError",
    "AudioResult", "EmbeddingResult", "TextResult", "TranscriptionResult", "UsageMeter",
]
