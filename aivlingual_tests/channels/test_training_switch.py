"""outputs.training_export: AI answers only channels with training export switched off were served stay out of
the fine-tuning exports (they wait, and go out once the switch is on); none left is a skip with the reason."""

from __future__ import annotations

import dagster as dg
from pydantic import BaseModel

from aivlingual_assets.assets.learning import training_exports
from aivlingual_assets.channels import channel_store
from aivlingual_assets.learning.review import record_verdict
from aivlingual_assets.resources import AICoreResource


class Gloss(BaseModel):
    word: str
    meaning: str


PROMPTS = {"pekora": "今日は雑談配信です、よろしくお願いします。このゲームまじでワンチャンあるかも",
           "marine": "推しの新衣装が尊すぎて無理、同接が千人超えたの初めてかも",
           "both": "コラボ相手の先輩がめっちゃ優しかった、明日は歌枠やる予定だからみんな来てね"}


def _export(resource: AICoreResource) -> dict:
    result = dg.materialize([training_exports], resources={"ai": resource})
    assert result.success
    return {k: v.value for k, v in result.asset_materializations_for_node("training_exports")[0].metadata.items()}


def test_answers_of_channels_with_training_export_off_are_left_out_until_it_is_on(provider_server, aiv_home,
                                                                                   monkeypatch):
    monkeypatch.delenv("GEMINI_API_KEY")
    resource = AICoreResource(database_url=f"sqlite:///{aiv_home / 'ledger.sqlite3'}", retry_base_seconds=0.01)
    store = channel_store(resource.core.ledger.url)
    store.add("pekora", {"outputs.training_export": False})
    store.add("marine")
    answers = {
        "pekora": resource.for_channel("pekora").generate_text("gloss", PROMPTS["pekora"], schema=Gloss),
        "marine": resource.for_channel("marine").generate_text("gloss", PROMPTS["marine"], schema=Gloss),
        "both": resource.for_channel("pekora").generate_text("gloss", PROMPTS["both"], schema=Gloss),
    }
    assert resource.for_channel("marine").generate_text("gloss", PROMPTS["both"], schema=Gloss).cache_hit
    for answer in answers.values():
        record_verdict(resource.core.ledger, answer.memory_id, "verified", "tester")

    md = _export(resource)  # pekora's own answer waits; the one marine was served too goes out
    assert (md["examples"], md["left_out_switched_off"]) == (2, 1)
    exported = (aiv_home / "training" / md["batch_id"])
    text = "".join(p.read_text(encoding="utf-8") for p in exported.glob("*.jsonl"))
    assert PROMPTS["pekora"] not in text and PROMPTS["marine"] in text and PROMPTS["both"] in text

    md = _export(resource)  # only pekora's answer is left: skipped, not failed, with the reason
    assert md["skipped"] is True and md["examples"] == 0 and md["left_out_switched_off"] == 1
    assert "training_export is switched off for channel pekora" in md["skip_reason"]

    store.update_settings("pekora", {"outputs.training_export": None})  # back to the default (on): it goes out
    md = _export(resource)
    assert md["examples"] == 1 and md["left_out_switched_off"] == 0 and "skipped" not in md
