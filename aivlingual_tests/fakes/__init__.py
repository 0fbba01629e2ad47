"""Test doubles for external services.

``provider_server`` - a local HTTP server speaking the OpenAI and Gemini wire protocols
(:class:`ProviderServer`, :class:`Fault`, :class:`Reply`); see its module docstring.
The names below are re-exported lazily so importing another fake does not import this one.
"""

from __future__ import annotations

from typing import Any

_PROVIDER_SERVER_EXPORTS = ("ProviderServer", "Fault", "Reply", "ProviderRequest", "example_from_schema",
                            "fake_embedding", "estimate_tokens")

__all__ = list(_PROVIDER_SERVER_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _PROVIDER_SERVER_EXPORTS:
        from . import provider_server

        return getattr(provider_server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
