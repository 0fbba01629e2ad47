"""Each channel's rows go to its own Notion database (with its own Notion key) and its own Anki deck; the rest to
the service's. Through the real notion-client against the fake Notion server, which only lets a database's own
integration token in."""

from __future__ import annotations

import json

import dagster as dg
import pandas as pd

from aivlingual_assets.assets.publishing import notion_entries
from aivlingual_assets.channels import KeyVault, channel_store
from aivlingual_assets.ingestion.recording import Recording
from aivlingual_assets.resources.notion import NotionResource
from aivlingual_assets.resources.pipeline import PipelineResource
from aivlingual_assets.settings import database_url
from aivlingual_tests.fakes.notion_server import FakeNotionServer

PEKORA_NOTION_KEY = "ntn_pekora_OWN_4d5e6f7a8b9c0d1e2f"
SAID_IN = {"k-pekora": ["file-aaaaaaaaaaaa"], "k-marine": ["file-bbbbbbbbbbbb"],
           "k-both": ["file-aaaaaaaaaaaa", "file-cccccccccccc"]}  # file-c belongs to no channel


def _stock() -> pd.DataFrame:
    rows = []
    for i, (key, recordings) in enumerate(SAID_IN.items()):
        occurrences = [{"recording": r, "recording_title": r, "start": 1.0, "end": 2.0,
                        "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"} for r in recordings]
        rows.append({"key": key, "expression": f"推し{i}", "reading": "おし", "meaning": "favourite",
                     "category": "vtuber_culture", "level": "slang", "example": f"推し{i}が尊い", "count": 1,
                     "occurrences": json.dumps(occurrences)})
    return pd.DataFrame(rows)


def _channels(**own: dict) -> None:
    store = channel_store(database_url())
    registry = PipelineResource().registry()
    for name, settings in own.items():
        store.add(name, settings)
    for key, channel in (("file-aaaaaaaaaaaa", "pekora"), ("file-bbbbbbbbbbbb", "marine"), ("file-cccccccccccc", None)):
        registry.register(Recording(partition_key=key, source="file", title=key), channel=channel)


def _keys(server: FakeNotionServer, data_source_id: str) -> list[str]:
    return sorted(p["properties"]["Key"]["rich_text"][0]["plain_text"] for p in server.pages()
                  if p["parent"]["data_source_id"] == data_source_id)


def _publish(server: FakeNotionServer) -> dg.Output:
    notion = NotionResource(token=server.token, database_id=server.database_id, base_url=server.url)
    return notion_entries(dg.build_asset_context(), vocabulary=_stock(), notion=notion, pipeline=PipelineResource())


def test_a_channels_rows_go_to_its_own_notion_database_with_its_own_key(aiv_home, master_key):
    with FakeNotionServer() as server:
        database, data_source = server.add_database("Pekora's words", token=PEKORA_NOTION_KEY)
        _channels(pekora={"notion_database": database}, marine={})
        KeyVault(channel_store(database_url())).set_key("pekora", "notion", PEKORA_NOTION_KEY)

        out = _publish(server)
        assert _keys(server, data_source) == ["k-both", "k-pekora"]
        assert _keys(server, server.data_source_id) == ["k-both", "k-marine"]  # marine, and the recording of no one
        assert server.tokens_seen(database) == {PEKORA_NOTION_KEY}  # only pekora's integration can reach it
        assert server.tokens_seen(server.database_id) == {server.token}
        md = {k: v.value for k, v in out.metadata.items()}
        assert md["sent"] is True and md["created"] == 4 and md["rows"] == 3
        assert "channel pekora" in md["databases"] and "service default" in md["databases"]

        server.reset_counts()
        md = {k: v.value for k, v in _publish(server).metadata.items()}  # idempotent per database
        assert server.page_writes() == 0 and md["unchanged"] == 4 and md["created"] == 0

        # pekora switches Notion off: its database gets no row, so its pages are archived there
        channel_store(database_url()).update_settings("pekora", {"outputs.notion": False})
        md = {k: v.value for k, v in _publish(server).metadata.items()}
        assert _keys(server, data_source) == [] and md["archived"] == 2
        assert _keys(server, server.data_source_id) == ["k-both", "k-marine"]


PEKORA_OPENAI_KEY = "sk-pekora-OWN-TTS-0a1b2c3d4e5f"


def _deck(path) -> tuple[list[str], list[str]]:
    """(deck names, note expressions) of an .apkg."""
    import sqlite3
    import tempfile
    import zipfile
    from pathlib import Path

    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(path) as archive:
        archive.extract("collection.anki2", tmp)
        db = sqlite3.connect(Path(tmp) / "collection.anki2")
        decks = [d["name"] for d in json.loads(db.execute("select decks from col").fetchone()[0]).values()]
        notes = sorted(row[0].split("\x1f")[0] for row in db.execute("select flds from notes"))
        db.close()
    return [d for d in decks if d != "Default"], notes


def test_a_channels_rows_go_to_its_own_anki_deck_spoken_with_its_own_key(aiv_home, master_key, provider_server):
    from aivlingual_assets.assets.publishing import AnkiConfig, anki_deck
    from aivlingual_assets.publishing.anki_deck import DEFAULT_DECK_NAME
    from aivlingual_assets.resources import AICoreResource

    _channels(pekora={"anki_deck_name": "Pekora Japanese"}, marine={})
    KeyVault(channel_store(database_url())).set_key("pekora", "openai", PEKORA_OPENAI_KEY)
    with dg.build_asset_context() as context:
        result = anki_deck(context, config=AnkiConfig(), vocabulary=_stock(), ai=AICoreResource(),
                           pipeline=PipelineResource())
    md = {k: getattr(v, "value", v) for k, v in result.metadata.items()}
    exports = PipelineResource().data_dir("exports")
    own = list(exports.glob("aivlingual-pekora-japanese-*.apkg"))
    assert len(own) == 1 and md["notes"] == 4 and "Pekora Japanese" in md["decks"]
    assert _deck(own[0]) == (["Pekora Japanese"], ["推し0", "推し2"])
    assert _deck(exports / "aivlingual.apkg") == ([DEFAULT_DECK_NAME], ["推し1", "推し2"])
    # the example audio of pekora's deck was spoken with pekora's key, the service's deck with the service's
    # (the line both decks have is spoken once: the service's deck is built first, pekora's reads it from the cache)
    keys = sorted((r.body["input"], r.api_key) for r in provider_server.find("openai.speech"))
    assert keys == [("推し0が尊い", PEKORA_OPENAI_KEY), ("推し1が尊い", "test"), ("推し2が尊い", "test")]
