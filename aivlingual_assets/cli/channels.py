"""``aivlingual channels``: list, add, show and configure channels (tenants), and their encrypted API keys.

Keys are read from standard input only (never from the command line, where the shell history and
``ps`` would keep them) and never printed: ``show`` says which providers have a key of the channel's own.
"""

from __future__ import annotations

import argparse
import json
import sys

from .. import settings

_HELP_SETTINGS = ("settings: tier.<cheap|normal|premium> and request.<request type> (provider or provider/model), "
                  "transcription_provider, tts_voice, notion_database, anki_deck_name, monthly_budget_usd, "
                  "max_recording_minutes, max_cost_per_recording_usd, youtube_feed, outputs.<shorts|notion|anki|tts|"
                  "training_export> (on/off)")


def _store():
    from ..channels import channel_store

    return channel_store(settings.database_url())


def _describe(channel) -> dict:
    """Every setting of the channel as it resolves (value and where it came from), and its key providers."""
    from ..channels.cascade import SETTINGS, resolve, setting

    names = list(SETTINGS) + sorted(n for n in channel.settings if n not in SETTINGS)
    rows = {}
    for name in names:
        resolved = resolve(name, channel)
        value = resolved.value if not hasattr(resolved.value, "provider") else str(resolved.value)
        rows[name] = {"value": value, "from": resolved.origin, "help": setting(name).help}
    return {"name": channel.name, "settings": rows, "own_keys": list(channel.key_providers)}


def cmd_channels(args: argparse.Namespace) -> int:
    from ..channels import ChannelError, KeyVault
    from ..channels.cascade import to_stored

    store = _store()
    action = args.channels_action
    try:
        if action == "list":
            channels = list(store.all().values())
            if args.json:
                print(json.dumps([{"name": c.name, "settings": c.settings, "own_keys": list(c.key_providers)}
                                  for c in channels], ensure_ascii=False, indent=2))
            elif not channels:
                print("No channels yet: `aivlingual channels add NAME` adds one.")
            for c in channels if not args.json else ():
                own = f"  keys: {', '.join(c.key_providers)}" if c.key_providers else ""
                print(f"{c.name:24s} {len(c.settings)} setting(s) of its own{own}")
            return 0
        if action == "add":
            values = {name: to_stored(name, value) for name, value in args.set or []}
            store.add(args.name, values)
            print(f"✓ channel {args.name} added; `aivlingual process --channel {args.name} FILE` or its inbox "
                  f"sub-folder {settings.inbox_dir() / args.name} assigns recordings to it.")
            return 0
        if action == "show":
            described = _describe(store.require(args.name))
            if args.json:
                print(json.dumps(described, ensure_ascii=False, indent=2, default=str))
                return 0
            print(f"channel {described['name']}  (own keys: {', '.join(described['own_keys']) or 'none'})")
            for name, row in described["settings"].items():
                value = "(provider default)" if row["value"] is None else row["value"]
                print(f"  {name:28s} {value!s:32s} from {row['from']}")
            return 0
        if action == "set":
            store.require(args.name)
            value = None if args.unset else to_stored(args.setting, args.value)
            if value is None and not args.unset:
                raise ChannelError("give a VALUE, or --unset to use the service default again")
            store.update_settings(args.name, {args.setting: value})
            print(f"✓ {args.name}: {args.setting} " + ("unset (cascades to the service default)" if args.unset
                                                        else f"= {value}"))
            return 0
        if action == "remove":
            if not store.remove(args.name):
                raise ChannelError(f"No channel named {args.name!r}.")
            print(f"✓ channel {args.name} removed with its stored keys; its recordings now belong to no channel.")
            return 0
        vault = KeyVault(store)
        if action == "set-key" and args.stray:
            print("✗ set-key reads the key from standard input only, never from the command line (it would stay in "
                  "your shell history and the process list; consider that key exposed and replace it): "
                  f"`printf %s \"$KEY\" | aivlingual channels set-key {args.name} {args.provider}`.", file=sys.stderr)
            return 2
        if action == "set-key":
            if sys.stdin.isatty():
                print(f"Paste the {args.provider} key of {args.name}, then Enter (not echoed):", file=sys.stderr)
                import getpass

                secret = getpass.getpass(prompt="")
            else:
                secret = sys.stdin.read()
            vault.set_key(args.name, args.provider, secret)
            from .instance import KEY_POOLS, get_instance

            get_instance(extra_pools=KEY_POOLS[args.provider]).dispose()  # its steps' pools get their limits
            print(f"✓ {args.name}: {args.provider} key stored encrypted; its calls now use it.")
            return 0
        if action == "remove-key":
            removed = vault.remove_key(args.name, args.provider)
            print(f"✓ {args.name}: {args.provider} key removed; the service's key applies again." if removed
                  else f"{args.name} had no {args.provider} key of its own.")
            return 0
        if action == "rotate-keys":
            count = vault.rotate()
            print(f"✓ {count} stored key(s) re-encrypted under AIVLINGUAL_MASTER_KEY; "
                  "AIVLINGUAL_PREVIOUS_MASTER_KEYS can now be removed.")
            return 0
    except ChannelError as exc:
        print(f"✗ {exc}", file=sys.stderr)
        return 2
    raise AssertionError(action)


def _pair(text: str) -> tuple[str, str]:
    name, eq, value = text.partition("=")
    if not eq or not name.strip():
        raise argparse.ArgumentTypeError(f"{text!r} is not SETTING=VALUE")
    return name.strip(), value


def add_parser(sub) -> None:
    from ..channels import KEY_PROVIDERS

    p = sub.add_parser("channels", help="channels (tenants): their settings, switches and encrypted API keys",
                       description=_HELP_SETTINGS)
    actions = p.add_subparsers(dest="channels_action", required=True)
    a = actions.add_parser("list", help="every channel")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("add", help="add a channel (optionally with settings)")
    a.add_argument("name")
    a.add_argument("--set", action="append", type=_pair, metavar="SETTING=VALUE", help=_HELP_SETTINGS)
    a = actions.add_parser("show", help="every setting of a channel as it resolves, and where it comes from")
    a.add_argument("name")
    a.add_argument("--json", action="store_true")
    a = actions.add_parser("set", help="set (or --unset) one setting of a channel", description=_HELP_SETTINGS)
    a.add_argument("name")
    a.add_argument("setting")
    a.add_argument("value", nargs="?")
    a.add_argument("--unset", action="store_true", help="remove the channel's own value: the service default applies")
    a = actions.add_parser("remove", help="remove a channel and its keys (its recordings are kept)")
    a.add_argument("name")
    a = actions.add_parser("set-key", help="store the channel's own API key, read from standard input")
    a.add_argument("name")
    a.add_argument("provider", choices=KEY_PROVIDERS)
    a.add_argument("stray", nargs="*", help=argparse.SUPPRESS)  # caught so that argparse never echoes a key
    a = actions.add_parser("remove-key", help="remove the channel's own API key (the service's applies again)")
    a.add_argument("name")
    a.add_argument("provider", choices=KEY_PROVIDERS)
    actions.add_parser("rotate-keys", help="re-encrypt every stored key under AIVLINGUAL_MASTER_KEY (the old master "
                                           "key in AIVLINGUAL_PREVIOUS_MASTER_KEYS)")
    p.set_defaults(func=cmd_channels)
