"""The engine's derived-data cache: built once per input, rebuilt when damaged, never in the way."""

import os

from aivlingual_assets.analysis.disk_cache import KEEP_OTHERS, cache_dir, cached


def test_a_value_is_built_once_per_fingerprint_and_only_the_newest_others_are_kept(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv("AIVLINGUAL_CACHE_DIR", str(folder))
    builds = []

    def build(value):
        builds.append(value)
        return value

    assert cached("thing", "aaa", lambda: build(1)) == 1
    assert cached("thing", "aaa", lambda: build(2)) == 1  # from disk
    assert cached("thing", "bbb", lambda: build(3)) == 3  # new inputs, new value
    assert builds == [1, 3]
    fingerprints = ["aaa", "bbb", "ccc", "ddd", "eee"]
    for n, fingerprint in enumerate(fingerprints):
        cached("thing", fingerprint, lambda: n)
        os.utime(folder / f"thing-{fingerprint}.pickle", (1_000 + n, 1_000 + n))  # written in this order
    kept = sorted(p.name for p in folder.iterdir())
    assert kept == [f"thing-{f}.pickle" for f in fingerprints[-(KEEP_OTHERS + 1):]]


def test_two_checkouts_on_one_machine_do_not_evict_each_others_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("AIVLINGUAL_CACHE_DIR", str(tmp_path))
    builds = []
    for _ in range(3):  # a main checkout and a CI clone take turns: each built once, then read
        cached("phrases", "checkout-a", lambda: builds.append("a") or "a")
        cached("phrases", "checkout-b", lambda: builds.append("b") or "b")
    assert builds == ["a", "b"]


def test_a_damaged_cache_file_is_rebuilt(tmp_path, monkeypatch):
    monkeypatch.setenv("AIVLINGUAL_CACHE_DIR", str(tmp_path))
    (tmp_path / "thing-aaa.pickle").write_bytes(b"not a pickle")
    assert cached("thing", "aaa", lambda: {"ok": True}) == {"ok": True}
    assert cached("thing", "aaa", lambda: {"ok": False}) == {"ok": True}


def test_an_unwritable_cache_still_answers(tmp_path, monkeypatch):
    blocker = tmp_path / "file"
    blocker.write_text("a file where the folder should be")
    monkeypatch.setenv("AIVLINGUAL_CACHE_DIR", str(blocker / "cache"))
    assert cache_dir() == blocker / "cache"
    assert cached("thing", "aaa", lambda: 42) == 42
