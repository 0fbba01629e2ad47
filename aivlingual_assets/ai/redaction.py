"""Secrets out of every text the AI core keeps or shows: error messages, log lines, ledger rows.

Our own keys are replaced wherever they appear; so is anything shaped like a credential (an
``sk-…`` or Google ``AIza…`` key, a Notion token, ``Bearer <token>``, ``api_key=<token>``), since a
server may echo a key of its own, or ours in a form we did not send (quoted, URL-encoded, cut).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

MASK = "***"

_TOKEN = r"[A-Za-z0-9._~+/=\-]"
_CREDENTIALS = re.compile(
    "|".join((
        r"\bsk-[A-Za-z0-9_\-]{16,}",  # OpenAI and compatible (sk-…, sk-proj-…)
        r"\bAIza[0-9A-Za-z_\-]{30,}",  # Google API keys
        r"\b(?:secret|ntn)_[A-Za-z0-9]{20,}",  # Notion integration tokens
        rf"(?P<bearer>\bbearer\s+){_TOKEN}{{8,}}",  # Authorization: Bearer <token>
        # key=<token>, "api_key": "<token>", x-goog-api-key: <token> (a token has a digit: not a word)
        rf"(?P<named>(?:api[_-]?key|access[_-]token|auth[_-]token|x-goog-api-key)[\"']?\s*[=:]\s*[\"']?)"
        rf"(?=[^\s\"']*\d){_TOKEN}{{12,}}",
    )),
    re.IGNORECASE,
)


def _mask(match: re.Match[str]) -> str:
    return (match.group("bearer") or match.group("named") or "") + MASK


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every known secret and every credential-shaped token replaced by ``***``."""
    for secret in sorted((s for s in secrets if s), key=len, reverse=True):
        text = text.replace(secret, MASK)
    return _CREDENTIALS.sub(_mask, text)
