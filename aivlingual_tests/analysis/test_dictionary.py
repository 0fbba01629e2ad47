import time

from aivlingual_assets.analysis import dictionary
from aivlingual_assets.analysis.dictionary import jmdict_db_path, kanji_info, lookup, lookup_all, prefetch


def test_lookup_basic_word():
    e = lookup("食べる")
    assert e is not None
    assert e.reading == "たべる"
    assert e.glosses[0] == "to eat"
    assert "ichi1" in e.priority and e.is_common
    assert any("Ichidan" in p for p in e.pos)


def test_reading_and_pos_pick_the_right_homograph():
    assert lookup("今日", "こんにち").reading == "こんにち"
    assert lookup("今日", "きょう").reading == "きょう"
    # いっぱい the adverb is 一杯 "full, a lot", not 一敗 "one defeat"
    adverb = lookup("いっぱい", pos="副詞")
    assert "一杯" in adverb.kanji_forms
    assert any("full" in g or "capacity" in g for g in adverb.glosses)


def test_priority_tags_and_frequency_band():
    e = lookup("配信")
    assert e.frequency_band is not None and 1 <= e.frequency_band <= 48
    assert {"news1"} <= set(e.priority)
    rare = lookup("醍醐味")
    assert rare is not None and not rare.is_common


def test_unknown_and_empty():
    assert lookup("ぬぽぽぽぽ") is None
    assert lookup("") is None
    assert lookup_all("   ") == []


def test_same_entry_as_jamdicts_own_api():
    """The SQLite file we read is jamdict's: its own (slow) API agrees with us."""
    from jamdict import Jamdict

    jam = Jamdict(db_file=jmdict_db_path())
    theirs = {e.idseq for e in jam.lookup("先輩", strict_lookup=True).entries}
    assert lookup("先輩").idseq in {int(i) for i in theirs}


def test_kanji_info():
    eat = kanji_info("食")
    assert eat.jlpt_old == 4 and eat.grade == 2
    assert kanji_info("a") is None


def test_batched_prefetch_then_cached_lookups():
    words = ["緊張", "応援", "慎重", "告知", "夜更かし", "震える", "醍醐味", "生活費"] * 50
    dictionary.cache_clear()
    t0 = time.perf_counter()
    prefetch(words)
    t1 = time.perf_counter()
    hits = [lookup(w) for w in words]
    t2 = time.perf_counter()
    assert all(hits)
    print(f"\n[dictionary] prefetch {len(set(words))} words {1000 * (t1 - t0):.1f} ms; "
          f"{len(words)} cached lookups {1000 * (t2 - t1):.1f} ms")
