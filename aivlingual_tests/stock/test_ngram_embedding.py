"""The offline n-gram embedding: deterministic, normalised, variants close, strangers far."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from aivlingual_assets.analysis import ngram_embedding
from aivlingual_assets.analysis.ngram_embedding import ngram_vectors


def _cos(a: str, b: str) -> float:
    v = ngram_vectors([a, b])
    return float(v[0] @ v[1])


def test_shape_dtype_and_unit_rows():
    v = ngram_vectors(["推し おし", "草 くさ", "てぇてぇ"], dim=64)
    assert v.shape == (3, 64) and v.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(v, axis=1), 1.0, rtol=1e-5)
    assert ngram_vectors([]).shape == (0, 256)


def test_empty_text_is_a_zero_row_similar_to_nothing():
    v = ngram_vectors(["", "   ", "かわいい"])
    assert not v[0].any() and not v[1].any() and v[2].any()


def test_spelling_variants_land_close():
    assert _cos("てぇてぇ てぇてぇ", "てえてえ てえてえ") == pytest.approx(1.0)
    assert _cos("てーてー", "テェテェ") == pytest.approx(1.0)
    assert _cos("よろしくお願いします よろしくおねがいします", "よろしくお願いしまーす よろしくおねがいします") > 0.92
    # kanji spelling vs kana spelling of the same word, each with its reading
    assert _cos("可愛い かわいい", "かわいい かわいい") > 0.8


def test_unrelated_words_land_far():
    for a, b in [("推し おし", "草 くさ"), ("配信 はいしん", "視聴者 しちょうしゃ"), ("www", "888")]:
        assert abs(_cos(a, b)) < 0.3
    words = ["推し", "草", "てぇてぇ", "スパチャ", "配信", "切り抜き", "初見", "888", "www", "おつ"]
    v = ngram_vectors(words)
    sims = v @ v.T
    np.fill_diagonal(sims, 0.0)
    assert np.abs(sims).max() < 0.5


def test_batching_does_not_change_vectors():
    texts = [f"単語{i} たんご{i}" for i in range(20_000)]
    whole = ngram_vectors(texts)  # > one 8,192-row chunk
    np.testing.assert_array_equal(whole[12_345], ngram_vectors([texts[12_345]])[0])
    np.testing.assert_array_equal(whole[:3], ngram_vectors(texts[:3]))


def test_identical_across_processes_with_different_hash_seeds(tmp_path):
    """Python's str hash is salted per process; the embedding must not depend on it."""
    analysis_dir = Path(ngram_embedding.__file__).parent
    script = tmp_path / "embed.py"
    script.write_text(
        "import sys, types, importlib\n"
        "pkg = types.ModuleType('aivpkg'); pkg.__path__ = [sys.argv[1]]\n"
        "sys.modules['aivpkg'] = pkg\n"  # loads only kana.py + ngram_embedding.py
        "mod = importlib.import_module('aivpkg.ngram_embedding')\n"
        "v = mod.ngram_vectors(['推し おし', 'てぇてぇ', 'www 草'], dim=32)\n"
        "sys.stdout.write(v.tobytes().hex())\n"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, str(script), str(analysis_dir)],
            capture_output=True, text=True, env=env, check=True, timeout=120,
        )  # fmt: skip
        outputs.add(done.stdout)
    here = ngram_vectors(["推し おし", "てぇてぇ", "www 草"], dim=32).tobytes().hex()
    assert outputs == {here}


def test_embeds_100k_short_strings_quickly():
    rng = np.random.default_rng(0)
    n = 100_000
    cps = np.empty((n, 12), dtype=np.uint32)  # 2 kanji + 3 kana, space, 6 kana reading
    cps[:, :2] = rng.integers(0x4E00, 0x4E00 + 2000, (n, 2))
    cps[:, 2:5] = rng.integers(0x3042, 0x3094, (n, 3))
    cps[:, 5] = ord(" ")
    cps[:, 6:] = rng.integers(0x3042, 0x3094, (n, 6))
    texts = cps.view("<U12").ravel().tolist()
    start = time.perf_counter()
    v = ngram_vectors(texts)
    elapsed = time.perf_counter() - start
    print(f"\nngram_vectors: 100,000 strings in {elapsed:.2f} s")
    assert v.shape == (100_000, 256)
    assert elapsed < 30  # generous: shared CI cores; typical is ~1.5 s
