"""anki_deck as an asset: TTS only when the AI core has a speech model, and a failed line never fails the deck."""

from __future__ import annotations

import json
import zipfile

import dagster as dg
import pandas as pd
import sqlalchemy as sa

from aivlingual_assets.ai.ledger import usage_log
from aivlingual_assets.assets.publishing import AnkiConfig, anki_deck
from aivlingual_assets.publishing.anki_export import tts_available
from aivlingual_assets.resources import AICoreResource
from aivlingual_assets.resources.pipeline import PipelineResource
from aivlingual_tests.fakes.provider_server import Fault


def youtube_stock() -> pd.DataFrame:
    """Expressions heard in YouTube recordings: no local media, so audio can only come from TTS."""
    rows = []
    for i, (word, example) in enumerate([("推し", "今日も推しが可愛い"), ("草", "マジで草"), ("尊い", "このコラボ尊い")]):
        occ = [{"recording": "yt-dQw4w9WgXcQ", "recording_title": "雑談", "start": 10.0 * i, "end": 10.0 * i + 3,
                "url": f"https://www.youtube.com/watch?v=dQw4w9WgXcQ&t={10 * i}s"}]
        rows.append({"key": f"k{i}", "expression": word, "reading": "よみ", "meaning": "m", "level": "slang",
                     "level_score": 4.5, "example": example, "occurrences": json.dumps(occ, ensure_ascii=False),
                     "count": 1})
    return pd.DataFrame(rows)


def run(ai: AICoreResource, stock: pd.DataFrame | None = None) -> dict:
    with dg.build_asset_context() as context:  # closed here, not by a finalizer at some later garbage collection
        result = anki_deck(context, config=AnkiConfig(), vocabulary=youtube_stock() if stock is None else stock,
                           ai=ai, pipeline=PipelineResource())
    return {k: getattr(v, "value", v) for k, v in result.metadata.items()}


def media_in(path: str) -> dict:
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("media"))


def tts_rows(ai: AICoreResource) -> list:
    with ai.core.ledger.connect() as conn:
        return conn.execute(sa.select(usage_log).where(usage_log.c.request_type == "anki.tts")).all()


def test_openai_key_gives_every_card_tts_audio_from_the_speech_endpoint(provider_server):
    ai = AICoreResource()
    md = run(ai)
    assert md["tts"] == "on" and md["notes"] == 3
    assert md["media_files"] == 3 and md["tts_audio"] == 3 and md["tts_failed"] == 0
    assert len(media_in(md["path"])) == 3
    spoken = [r.body["input"] for r in provider_server.find("openai.speech")]
    assert sorted(spoken) == sorted(youtube_stock()["example"])
    assert {(r.provider, r.model, r.success) for r in tts_rows(ai)} == {("openai", "tts-1", True)}
    assert md["ai/api_calls"] == 3


def test_gemini_only_builds_the_deck_without_tts_audio_and_without_error(provider_server, monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY")
    ai = AICoreResource()
    assert ai.core.configured_providers() == ["gemini"] and not tts_available(ai.core)
    md = run(ai)
    assert md["notes"] == 3 and md["media_files"] == 0 and md["tts"].startswith("off")
    assert media_in(md["path"]) == {}
    assert provider_server.count("openai.speech") == 0 and tts_rows(ai) == []


def test_a_failed_tts_line_costs_that_card_its_audio_not_the_deck(provider_server):
    provider_server.set_responder(
        "openai.speech", lambda req: Fault.status(400, message="bad input") if "草" in req.body["input"] else None)
    ai = AICoreResource(max_attempts=1, retry_base_seconds=0.01)
    md = run(ai)
    assert md["notes"] == 3 and md["media_files"] == 2
    assert (md["tts_audio"], md["tts_failed"], md["tts_gave_up"]) == (2, 1, False)
    assert [r.success for r in tts_rows(ai)].count(False) == 1  # the failure is in the usage ledger too


def test_a_provider_outage_stops_asking_after_a_few_failures(provider_server):
    provider_server.fail_always("openai.speech", Fault.status(400, message="down"))
    stock = pd.concat([youtube_stock().assign(key=lambda f, n=n: f["key"] + f"-{n}",
                                              example=lambda f, n=n: f["example"] + f"{n}") for n in range(3)])
    md = run(AICoreResource(max_attempts=1, retry_base_seconds=0.01), stock)
    assert md["notes"] == 9 and md["media_files"] == 0
    assert md["tts_gave_up"] is True and md["tts_failed"] == 5
    assert provider_server.count("openai.speech") == 5


def test_assets_that_call_ai_show_the_providers_they_call():
    from aivlingual_assets.assets.publishing import shorts

    assert {"openai", "gemini"} <= shorts.specs_by_key[shorts.key].kinds  # clip copy: any text model
    assert "openai" in anki_deck.specs_by_key[anki_deck.key].kinds  # TTS: OpenAI has the speech model
    assert shorts.op.pool == anki_deck.op.pool == "openai"
