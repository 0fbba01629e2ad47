"""StockIndex: key-addressed FAISS search, crash-safe persistence, "similar to X"."""

from __future__ import annotations

import json
import os

import numpy as np
import pandas as pd
import pytest

from aivlingual_assets.analysis import stock_index as stock_index_module
from aivlingual_assets.analysis.ngram_embedding import ngram_vectors
from aivlingual_assets.analysis.stock_index import KEYS_FILE, StockIndex, similar

WORDS = ["推し", "推しメン", "草", "てぇてぇ", "スパチャ", "配信", "初見", "切り抜き"]


def _index(words=WORDS) -> StockIndex:
    index = StockIndex()
    index.add([f"k{i}" for i in range(len(words))], ngram_vectors(words))
    return index


def test_add_and_search_by_key():
    index = _index()
    assert len(index) == len(WORDS) and index.dim == 256
    scores, keys = index.search(ngram_vectors(["推し", "草"]), k=3)
    assert keys[0, 0] == "k0" and keys[1, 0] == "k2"
    assert scores[0, 0] == pytest.approx(1.0, abs=1e-5)
    assert keys[0, 1] == "k1"  # 推しメン is the nearest other entry
    assert np.all(np.diff(scores, axis=1) <= 1e-6)  # best first


def test_search_pads_when_k_exceeds_size_and_empty_index_finds_nothing():
    index = _index(WORDS[:2])
    scores, keys = index.search(ngram_vectors(["推し"]), k=4)
    assert list(keys[0, 2:]) == [None, None] and np.all(np.isneginf(scores[0, 2:]))
    empty_scores, empty_keys = StockIndex().search(ngram_vectors(["推し"]), k=2)
    assert empty_keys.tolist() == [[None, None]] and np.all(np.isneginf(empty_scores))


def test_add_skips_known_and_repeated_keys():
    index = _index()
    vectors = ngram_vectors(["新語", "新語2"])
    assert index.add(["k0", "new"], vectors) == 1
    assert index.add(["dup", "dup"], vectors) == 1
    assert len(index) == len(WORDS) + 2
    assert index.missing(["k0", "zzz", "new", "zzz"]) == ["zzz"]
    assert "new" in index and "zzz" not in index


def test_rejects_bad_input():
    index = _index()
    with pytest.raises(ValueError):
        index.add(["x"], np.ones((1, 8), dtype=np.float32))  # wrong dim
    with pytest.raises(ValueError):
        index.add(["x", "y"], ngram_vectors(["a"]))  # count mismatch
    with pytest.raises(ValueError):
        index.add([""], ngram_vectors(["a"]))
    with pytest.raises(ValueError):
        index.search(np.full((1, 256), np.nan, dtype=np.float32), k=1)


def test_vectors_are_normalised_and_retrievable():
    index = StockIndex(4)
    index.add(["a", "b"], np.array([[3, 0, 0, 4], [0, 2, 0, 0]], dtype=np.float32))
    np.testing.assert_allclose(index.vectors_for(["b", "a"]), [[0, 1, 0, 0], [0.6, 0, 0, 0.8]])
    with pytest.raises(KeyError):
        index.vectors_for(["nope"])


def test_save_load_round_trip(tmp_path):
    index = _index()
    index.save(tmp_path / "idx")
    loaded = StockIndex.load(tmp_path / "idx")
    assert loaded.keys == index.keys and loaded.dim == index.dim
    queries = ngram_vectors(["推し", "配信"])
    for a, b in zip(index.search(queries, 3), loaded.search(queries, 3)):
        np.testing.assert_array_equal(a, b)
    # the loaded index keeps growing normally
    assert loaded.add(["k99"], ngram_vectors(["新人"])) == 1
    assert StockIndex.load(tmp_path / "missing").keys == []


def test_resave_replaces_the_previous_generation(tmp_path):
    index = _index()
    index.save(tmp_path)
    index.add(["extra"], ngram_vectors(["追加"]))
    index.save(tmp_path)
    assert len(list(tmp_path.glob("index-*.faiss"))) == 1
    assert StockIndex.load(tmp_path).keys[-1] == "extra"
    assert not list(tmp_path.glob("*.tmp"))


def test_crash_while_saving_keeps_the_previous_index_loadable(tmp_path, monkeypatch):
    _index().save(tmp_path)
    grown = _index()
    grown.add(["extra"], ngram_vectors(["追加"]))

    real_replace = os.replace

    def crash_on_commit(src, dst):
        if str(dst).endswith(KEYS_FILE):
            raise OSError("power cut")
        return real_replace(src, dst)

    monkeypatch.setattr(stock_index_module.os, "replace", crash_on_commit)
    with pytest.raises(OSError):
        grown.save(tmp_path)
    monkeypatch.undo()

    loaded = StockIndex.load(tmp_path)  # the old (index, keys) pair, consistent
    assert loaded.keys == [f"k{i}" for i in range(len(WORDS))]
    assert loaded.search(ngram_vectors(["草"]), 1)[1][0, 0] == "k2"
    assert not list(tmp_path.glob("*.tmp"))
    grown.save(tmp_path)  # the next save succeeds and cleans the orphan generation
    assert StockIndex.load(tmp_path).keys[-1] == "extra"
    assert len(list(tmp_path.glob("index-*.faiss"))) == 1


def test_corrupt_files_raise_value_error(tmp_path):
    _index().save(tmp_path)
    manifest = json.loads((tmp_path / KEYS_FILE).read_text())
    (tmp_path / manifest["index_file"]).write_bytes(b"not a faiss index")
    with pytest.raises(ValueError):
        StockIndex.load(tmp_path)
    _index().save(tmp_path / "b")
    good = json.loads((tmp_path / "b" / KEYS_FILE).read_text())
    good["keys"] = good["keys"][:-1]
    (tmp_path / "b" / KEYS_FILE).write_text(json.dumps(good))
    with pytest.raises(ValueError, match="keys"):
        StockIndex.load(tmp_path / "b")


def test_similar_after_reload(tmp_path):
    stock = pd.DataFrame({"key": [f"k{i}" for i in range(len(WORDS))], "expression": WORDS})
    _index().save(tmp_path)
    index = StockIndex.load(tmp_path)
    found = similar(stock, index, "推し", ngram_vectors, k=2)
    assert [(key, expr) for key, expr, _ in found] == [("k0", "推し"), ("k1", "推しメン")]
    assert found[0][2] == pytest.approx(1.0, abs=1e-5) and found[0][2] >= found[1][2]
    # rows gone from the stock are skipped, not returned
    shrunk = stock[stock["key"] != "k0"]
    assert [key for key, _, _ in similar(shrunk, index, "推し", ngram_vectors, k=1)] == ["k1"]
    assert similar(stock, StockIndex(), "推し", ngram_vectors) == []
