"""`aivlingual similar X`: the stock's persisted FAISS index answers "expressions similar to X"."""

from __future__ import annotations

import json

from aivlingual_assets import settings
from aivlingual_assets.ai import AICore
from aivlingual_assets.analysis.vocabulary_store import refresh_vocabulary
from aivlingual_assets.cli import main
from aivlingual_assets.storage.frame_store import FrameStore

from .test_stock import table


def _stock_of_two_recordings():
    frames = FrameStore(settings.storage_url())
    frames.write(table("file-aaaaaaaaaaaa", ("てぇてぇ", "てぇてぇ", "てぇてぇ", "so precious", "vtuber_culture", 1.0),
                       ("スパチャ", "スパチャ", "スパチャ", "Super Chat", "vtuber_culture", 5.0)),
                 "difficulty", "file-aaaaaaaaaaaa")
    frames.write(table("file-bbbbbbbbbbbb", ("赤スパ", "赤スパ", "あかスパ", "red Super Chat", "vtuber_culture", 2.0),
                       ("草", "草", "くさ", "lol", "internet", 9.0)),
                 "difficulty", "file-bbbbbbbbbbbb")
    core = AICore()
    result = refresh_vocabulary(frames=frames, index_dir=settings.data_dir("vocabulary_index"),
                                partitions=["file-aaaaaaaaaaaa", "file-bbbbbbbbbbbb"],
                                embed=lambda texts: core.embed(texts, request_type="vocabulary.embed"))
    frames.write(result.stock, "vocabulary")
    return result.stock


def test_similar_lists_the_closest_stock_expressions_first(capsys):
    _stock_of_two_recordings()
    assert main(["similar", "スパチャ", "-k", "2", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert [h["expression"] for h in hits] == ["スパチャ", "赤スパ"]
    assert hits[0]["similarity"] >= hits[1]["similarity"] > 0
    assert hits[1] | {"similarity": 0} == {"expression": "赤スパ", "reading": "あかスパ", "meaning": "red Super Chat",
                                           "level": "slang", "count": 1, "similarity": 0}

    assert main(["similar", "てえてえ", "-k", "1"]) == 0  # a spelling variant finds the stock's form
    assert "てぇてぇ (てぇてぇ)  so precious" in capsys.readouterr().out


def test_similar_without_a_stock_says_what_to_do(capsys):
    assert main(["similar", "草"]) == 1
    assert "process a recording first" in capsys.readouterr().err
