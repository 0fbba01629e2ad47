"""What a batch request costs: the model's catalogue prices (as the ledger keeps them) times the batch share."""

from __future__ import annotations

from typing import Any

from ..budgets import text_cost
from ..catalogue import batch_price_factor

_UNKNOWN = {"input_per_1m": 0.0, "output_per_1m": 0.0, "per_request": 0.0, "max_tokens": 4096}


def model_config(core: Any, provider: str, model: str) -> dict[str, Any]:
    """The ledger's catalogue row of a text model (a model it does not know is priced at $0, as elsewhere)."""
    for config in core.ledger.models(kind="text"):
        if config["provider"] == provider and config["model"] == model:
            return config
    return dict(_UNKNOWN)


def batch_cost(config: dict[str, Any], provider: str, input_tokens: int, output_tokens: int,
               cached_input_tokens: int = 0) -> float:
    """The list price of the tokens (cached input at its own price) with the batch discount on all of it."""
    return text_cost(config, input_tokens, output_tokens, cached_input_tokens) * batch_share(provider)


def batch_share(provider: str) -> float:
    """The share of the list price a batch request is billed (1.0 for a provider without a Batch API)."""
    factor = batch_price_factor(provider)
    return 1.0 if factor is None else factor
