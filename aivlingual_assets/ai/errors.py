"""Errors of the AI core: each says what went wrong and how to fix it."""

from __future__ import annotations


class AIError(RuntimeError):
    """Base class for every failure the AI core reports."""


class ProviderNotConfiguredError(AIError):
    def __init__(self, provider: str, hint: str):
        self.provider = provider
        super().__init__(f"Provider '{provider}' is not configured: {hint}")


class OfflineUnsupportedError(AIError):
    """The offline engine only serves the pipeline's own tasks."""

    def __init__(self, request_type: str, kind: str = "text"):
        self.request_type = request_type
        super().__init__(
            f"The offline engine cannot serve {kind} request '{request_type}': it only runs "
            "AIVlingual's own tasks (expressions, difficulty, clip copy, embeddings). "
            "Set OPENAI_API_KEY or GEMINI_API_KEY (or AIVLINGUAL_LOCAL_BASE_URL for a local "
            "OpenAI-compatible server) to use a language model."
        )


class BudgetExceededError(AIError):
    def __init__(self, scope: str, budget: float, spent: float, reserved: float, estimate: float):
        self.scope, self.budget, self.spent, self.estimate = scope, budget, spent, estimate
        super().__init__(
            f"Monthly AI budget for {scope} would be exceeded: budget ${budget:.4f}, spent "
            f"${spent:.4f}, in flight ${reserved:.4f}, this call up to ${estimate:.4f}. Nothing "
            "was sent. Raise AIVLINGUAL_MONTHLY_BUDGET_USD (or the channel budget), wait for "
            "next month, or use the offline engine."
        )


class InvalidOutputError(AIError):
    """A structured output stayed invalid after one repair attempt."""

    def __init__(self, request_type: str, provider: str, model: str, problem: str, raw_output_path: str):
        self.request_type, self.raw_output_path = request_type, raw_output_path
        super().__init__(
            f"Model {provider}/{model} returned invalid structured output for '{request_type}' "
            f"twice (after one repair attempt): {problem}. Nothing was cached. The raw output is "
            f"kept at {raw_output_path}."
        )


class ProviderCallError(AIError):
    """One provider call failed for good (after retries)."""

    def __init__(self, provider: str, model: str, message: str, *, status: int | None = None):
        self.provider, self.model, self.status = provider, model, status
        super().__init__(f"{provider}/{model} failed: {message}")


class AllProvidersFailedError(AIError):
    def __init__(self, request_type: str, failures: list[str]):
        self.failures = failures
        joined = "; ".join(failures)
        super().__init__(
            f"Every candidate model failed for '{request_type}': {joined}. Nothing was cached or "
            "charged beyond the logged attempts; rerun later or check the provider's status."
        )


class DeadlineExceededError(AllProvidersFailedError):
    """The call's overall deadline (retries and fallbacks included) passed before any model answered."""

    def __init__(self, request_type: str, seconds: float, failures: list[str]):
        self.request_type, self.seconds = request_type, seconds
        AIError.__init__(
            self,
            f"'{request_type}' got no answer within its deadline of {seconds:g} s (retries and fallbacks "
            f"included): {'; '.join(failures) or 'no model answered'}. Nothing was cached; every attempt is in "
            "the usage log. Rerun later or check the provider's status; raise AIVLINGUAL_AI_CALL_DEADLINE_S "
            "for slow servers.",
        )
        self.failures = failures
