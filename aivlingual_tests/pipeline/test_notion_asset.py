"""notion_entries as an asset: preview without a token, idempotent sync with one."""

from __future__ import annotations

import json

import dagster as dg
import pandas as pd

from aivlingual_assets.assets.publishing import notion_entries
from aivlingual_assets.resources.notion import NotionResource
from aivlingual_assets.resources.pipeline import PipelineResource
from aivlingual_tests.fakes.notion_server import FakeNotionServer


def stock(n: int = 3) -> pd.DataFrame:
    rows = []
    for i in range(n):
        occ = [{"recording": "file-abc", "recording_title": "sample", "start": 10.0 * i, "end": 10.0 * i + 3,
                "url": f"https://www.youtube.com/watch?v=dQw4w9WgXcQ&t={10 * i}s"}]
        rows.append({"key": f"k{i:015d}", "expression": f"推し{i}", "lemma": f"推し{i}", "reading": "おし",
                     "meaning": "favourite", "category": "vtuber_culture", "level": "slang", "level_score": 0.9,
                     "explanation": "x", "example": f"推し{i}が尊い", "occurrences": json.dumps(occ), "count": 1,
                     "first_seen": "{}", "last_seen": "{}", "variants": "[]", "theme": "vtuber_culture: 推し"})
    return pd.DataFrame(rows)


def run(notion: NotionResource, frame: pd.DataFrame) -> dg.Output:
    context = dg.build_asset_context()
    return notion_entries(context, vocabulary=frame, notion=notion, pipeline=PipelineResource())


def test_without_a_token_it_materialises_a_preview_and_says_nothing_was_sent(aiv_home):
    out = run(NotionResource(), stock())
    assert out.metadata["sent"].value is False and "NOTION_TOKEN" in out.metadata["note"].value
    assert len(out.value) == 3


def test_sync_is_idempotent_and_updates_only_what_changed(aiv_home, monkeypatch):
    with FakeNotionServer() as server:
        monkeypatch.setenv("NOTION_TOKEN", server.token)
        monkeypatch.setenv("NOTION_BASE_URL", server.url)
        monkeypatch.setenv("NOTION_DATABASE_ID", server.database_id)
        resource = NotionResource()
        first = run(resource, stock())
        assert first.metadata["created"].value == 3 and first.metadata["sent"].value is True
        second = run(resource, stock())
        assert (second.metadata["created"].value, second.metadata["updated"].value) == (0, 0)
        changed = stock()
        changed.loc[1, "meaning"] = "one's favourite streamer"
        third = run(resource, changed)
        assert (third.metadata["created"].value, third.metadata["updated"].value) == (0, 1)
        assert len(server.pages()) == 3
        assert server.token not in json.dumps({k: str(v.value) for k, v in third.metadata.items()})
