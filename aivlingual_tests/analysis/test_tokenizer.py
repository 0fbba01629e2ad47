import threading

from aivlingual_assets.analysis import tokenizer
from aivlingual_assets.analysis.tokenizer import (
    fold_for_matching,
    is_hiragana,
    katakana_to_hiragana,
    lemma_conjugation_type,
    split_token,
    tokenize,
)


def test_readings_are_hiragana_and_lemmas_are_dictionary_forms():
    toks = tokenize("昨日は配信を見ながらケーキを食べちゃった")
    by_surface = {t.surface: t for t in toks}
    assert by_surface["配信"].reading == "はいしん"
    assert by_surface["ケーキ"].reading == "けーき"  # katakana converted too
    eat = by_surface["食べ"]
    assert eat.dictionary_form == "食べる" and eat.lemma_reading == "たべる"
    assert eat.pos[0] == "動詞"
    for t in toks:
        if t.reading:
            assert is_hiragana(t.reading), t
    # offsets index the input text
    text = "昨日は配信を見ながらケーキを食べちゃった"
    assert all(text[t.begin : t.end] == t.surface for t in toks)


def test_symbols_have_no_reading_and_empty_text_is_empty():
    assert tokenize("") == []
    assert [t.reading for t in tokenize("！？") if t.pos[0] == "補助記号"] == ["", ""]


def test_mode_c_keeps_compounds_and_split_gives_parts():
    text = "推し活と切り抜き"
    toks = tokenize(text)
    assert [t.surface for t in toks if t.pos[0] == "名詞"] == ["推し活", "切り抜き"]
    long = tokenize("配信中")[0]
    assert long.inner  # 配信|中 boundary is remembered
    parts = split_token(long, "配信中")
    assert [p.surface for p in parts] == ["配信", "中"]


def test_dictionary_is_built_once_and_usable_from_threads():
    tokenize("一回目")
    first = tokenizer._DICTIONARY
    results = {}

    def work(i):
        results[i] = [t.surface for t in tokenize(f"スレッド{i}で形態素解析する")]

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert tokenizer._DICTIONARY is first
    assert all(r and r[0] == "スレッド" for r in results.values())


def test_kana_conversion_and_folding():
    assert katakana_to_hiragana("スパチャー") == "すぱちゃー"
    folded, index = fold_for_matching("ｗｗ８８８ﾃｽﾄ")
    assert folded == "ww888テスト"
    assert len(index) == len(folded) and index[-1] == 7


def test_conjugation_type_of_lemma():
    assert lemma_conjugation_type("見る").startswith("上一段")
    assert lemma_conjugation_type("帰る").startswith("五段")
    assert lemma_conjugation_type("猫") == ""
