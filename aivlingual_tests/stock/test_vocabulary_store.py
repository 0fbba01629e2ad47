"""refresh_vocabulary keeps one embedding model per index, whatever the AI core falls back to."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from aivlingual_assets import settings
from aivlingual_assets.analysis.ngram_embedding import ngram_vectors
from aivlingual_assets.analysis.vocabulary_store import EmbeddingModelChangedError, refresh_vocabulary
from aivlingual_assets.storage.frame_store import FrameStore

from .test_stock import table


class FallingBackEmbed:
    """Answers with model A until ``fail_over()``, then with model B (as the core does when A is down)."""

    def __init__(self):
        self.model = "model-a"

    def fail_over(self):
        self.model = "model-b"

    def __call__(self, texts):
        return SimpleNamespace(vectors=ngram_vectors(texts), provider="test", model=self.model)


def test_a_fallback_embedding_model_never_enters_the_index_and_nothing_is_written():
    frames = FrameStore(settings.storage_url())
    index_dir = settings.data_dir("vocabulary_index")
    frames.write(table("file-aaaaaaaaaaaa", ("草", "草", "くさ", "lol", "internet", 1.0)), "difficulty", "file-aaaaaaaaaaaa")
    embed = FallingBackEmbed()
    first = refresh_vocabulary(frames=frames, index_dir=index_dir, partitions=["file-aaaaaaaaaaaa"], embed=embed)
    frames.write(first.stock, "vocabulary")
    saved = {p.name: p.read_bytes() for p in index_dir.iterdir()}

    frames.write(table("file-bbbbbbbbbbbb", ("推し", "推し", "おし", "fave", "vtuber_culture", 2.0)), "difficulty",
                 "file-bbbbbbbbbbbb")
    probe = embed(["語"])  # the core's probe is answered from the cache, by model A ...
    embed.fail_over()  # ... but A fails for the new texts and B answers them
    with pytest.raises(EmbeddingModelChangedError, match="model-a.*model-b"):
        refresh_vocabulary(frames=frames, index_dir=index_dir, partitions=["file-aaaaaaaaaaaa", "file-bbbbbbbbbbbb"],
                           embed=lambda texts: probe if texts == ["語"] else embed(texts))
    assert {p.name: p.read_bytes() for p in index_dir.iterdir()} == saved
    assert list(frames.read("vocabulary")["lemma"]) == ["草"]
