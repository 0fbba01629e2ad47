"""Channels (tenants): who owns a recording, and that owner's settings, keys, switches and limits.

One concept per module: ``store`` (the registry of channels and their own settings), ``cascade``
(channel setting -> service default -> provider default), ``vault`` (encrypted per-channel API keys),
``switches`` (which outputs run, limits), ``assignment`` (which channel a recording belongs to),
``recording_costs`` (the per-recording cost limit and its reservations), ``ai_view`` (the AI core as a channel
sees it), ``destinations`` (a stock row's Notion database / Anki deck: the channel's own or the service's),
``ai_outputs`` (which channels an AI answer served, for training exports).
"""

from .cascade import OUTPUTS, SETTINGS, ModelChoice, Resolved, resolve
from .store import Channel, ChannelError, ChannelStore, channel_store
from .switches import (
    Decision,
    output_decision,
    recording_length_decision,
    stock_rows_for_output,
)
from .vault import KEY_PROVIDERS, KeyVault, MasterKeyError

__all__ = [
    "KEY_PROVIDERS",
    "OUTPUTS",
    "SETTINGS",
    "Channel",
    "ChannelError",
    "ChannelStore",
    "Decision",
    "KeyVault",
    "MasterKeyError",
    "ModelChoice",
    "Resolved",
    "channel_budget",
    "channel_store",
    "output_decision",
    "recording_length_decision",
    "resolve",
    "stock_rows_for_output",
]


def channel_budget(database_url: str, channel: str, service_budgets: dict[str, float]) -> Resolved:
    """A channel's monthly budget: its own ``monthly_budget_usd``, else ``service_budgets`` (from
    AIVLINGUAL_CHANNEL_BUDGETS or the resource's ``channel_budgets``), else none."""
    return resolve("monthly_budget_usd", channel_store(database_url).get(channel),
                   service={"monthly_budget_usd": service_budgets.get(channel)})
