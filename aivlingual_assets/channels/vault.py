"""Per-channel API keys, encrypted at rest in the ledger database under a master key from the environment.

Keys are Fernet tokens (``cryptography``: AES-128-CBC + HMAC-SHA256, authenticated) made with the
master key ``AIVLINGUAL_MASTER_KEY``; the clear key is never stored, logged or printed. Rotation
(:meth:`KeyVault.rotate`): put the new master key in ``AIVLINGUAL_MASTER_KEY`` and the old one(s) in
``AIVLINGUAL_PREVIOUS_MASTER_KEYS`` (comma-separated); keys still readable under an old master key
keep working meanwhile, and ``aivlingual channels rotate-keys`` re-encrypts every stored key under the
new one in one transaction, after which the old master key can be dropped.
"""

from __future__ import annotations

import os
import time
from collections.abc import Mapping

import sqlalchemy as sa
from cryptography.fernet import Fernet, InvalidToken, MultiFernet

from .store import ChannelError, ChannelStore, channel_keys_table, mark_changed

MASTER_KEY_ENV = "AIVLINGUAL_MASTER_KEY"
PREVIOUS_KEYS_ENV = "AIVLINGUAL_PREVIOUS_MASTER_KEYS"
KEY_PROVIDERS = ("openai", "gemini", "notion")
GENERATE_HINT = ('generate one with `python -c "from cryptography.fernet import Fernet; '
                 'print(Fernet.generate_key().decode())"` and keep it in a secret store: without it the stored '
                 'keys cannot be read')


class MasterKeyError(ChannelError):
    """No usable master key, or stored keys that none of the master keys opens."""


def _fernet(key: str, variable: str) -> Fernet:
    try:
        return Fernet(key.strip().encode())
    except (ValueError, TypeError):
        raise MasterKeyError(f"{variable} is not a Fernet key (32 url-safe base64-encoded bytes); "
                             f"{GENERATE_HINT}.") from None


def master_keys(env: Mapping[str, str] | None = None) -> tuple[str | None, list[str]]:
    """(the master key, the previous master keys) from the environment."""
    env = os.environ if env is None else env
    current = (env.get(MASTER_KEY_ENV) or "").strip() or None
    previous = [k.strip() for k in (env.get(PREVIOUS_KEYS_ENV) or "").split(",") if k.strip()]
    return current, previous


class KeyVault:
    """Stores, reads, removes and re-encrypts the channels' keys; the master keys come from the environment."""

    def __init__(self, store: ChannelStore, *, env: Mapping[str, str] | None = None):
        self.store = store
        self.master, self.previous = master_keys(env)

    def _cipher(self) -> MultiFernet:
        if not self.master:
            raise MasterKeyError(f"{MASTER_KEY_ENV} is not set, and channel API keys are stored encrypted under it: "
                                 f"{GENERATE_HINT}.")
        return MultiFernet([_fernet(self.master, MASTER_KEY_ENV),
                            *(_fernet(k, PREVIOUS_KEYS_ENV) for k in self.previous)])

    @staticmethod
    def _check_provider(provider: str) -> str:
        if provider not in KEY_PROVIDERS:
            raise ChannelError(f"{provider!r}: a channel can bring keys for {', '.join(KEY_PROVIDERS)}.")
        return provider

    def set_key(self, channel: str, provider: str, secret: str) -> None:
        self.store.require(channel)
        self._check_provider(provider)
        secret = secret.strip()
        if not secret or any(c.isspace() for c in secret):
            raise ChannelError("The key read from standard input is empty or has spaces inside; give the key "
                               "alone, e.g. `printf %s \"$KEY\" | aivlingual channels set-key CHANNEL PROVIDER`.")
        token = self._cipher().encrypt(secret.encode()).decode()
        now = time.time()
        with self.store.engine.begin() as conn:
            updated = conn.execute(channel_keys_table.update().where(
                channel_keys_table.c.channel == channel, channel_keys_table.c.provider == provider,
            ).values(token=token, updated_at=now)).rowcount
            if not updated:
                conn.execute(channel_keys_table.insert().values(channel=channel, provider=provider, token=token,
                                                                updated_at=now))
        mark_changed()

    def get_key(self, channel: str | None, provider: str) -> str | None:
        """The channel's own key in clear (None when it has none: the service's key is used)."""
        found = self.store.get(channel)
        if found is None or provider not in found.key_providers:
            return None
        with self.store.engine.connect() as conn:
            token = conn.execute(sa.select(channel_keys_table.c.token).where(
                channel_keys_table.c.channel == channel, channel_keys_table.c.provider == provider)).scalar()
        if token is None:
            return None
        try:
            return self._cipher().decrypt(token.encode()).decode()
        except InvalidToken:
            raise MasterKeyError(
                f"The {provider} key of channel {channel!r} was encrypted under another master key than "
                f"{MASTER_KEY_ENV}: put that old key in {PREVIOUS_KEYS_ENV} and run `aivlingual channels "
                "rotate-keys`, or store the key again with `aivlingual channels set-key`.") from None

    def remove_key(self, channel: str, provider: str) -> bool:
        self._check_provider(provider)
        with self.store.engine.begin() as conn:
            deleted = conn.execute(channel_keys_table.delete().where(
                channel_keys_table.c.channel == channel, channel_keys_table.c.provider == provider)).rowcount
        mark_changed()
        return deleted > 0

    def rotate(self) -> int:
        """Re-encrypts every stored key under the current master key, all or none; returns how many.

        Each token is opened with whichever master key (current or previous) made it; a token none of
        them opens stops the rotation before anything is written, naming its channel and provider.
        """
        cipher = self._cipher()
        now = time.time()
        with self.store.engine.begin() as conn:
            rows = conn.execute(sa.select(channel_keys_table).with_for_update()).all()
            for row in rows:
                try:
                    token = cipher.rotate(row.token.encode()).decode()
                except InvalidToken:
                    raise MasterKeyError(
                        f"The {row.provider} key of channel {row.channel!r} opens with none of the master keys "
                        f"({MASTER_KEY_ENV} and {PREVIOUS_KEYS_ENV}); nothing was re-encrypted. Add the master key "
                        "it was stored under to the previous keys, or remove it with `aivlingual channels "
                        "remove-key`.") from None
                conn.execute(channel_keys_table.update().where(
                    channel_keys_table.c.channel == row.channel, channel_keys_table.c.provider == row.provider,
                ).values(token=token, updated_at=now))
        mark_changed()
        return len(rows)
