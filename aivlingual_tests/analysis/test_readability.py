from aivlingual_assets.analysis.readability import as_sentences, readability_band, readability_score, transcript_readability


def test_empty_or_symbol_only_text_has_no_score():
    assert readability_score("") is None
    assert readability_score("   \n") is None
    assert readability_score(None) is None
    assert readability_score("。。。！？") is None
    assert readability_band(None) is None


def test_easy_text_scores_higher_than_hard_text():
    easy = readability_score("今日はいい天気ですね。散歩に行きましょう。")
    hard = readability_score("政府は経済政策の抜本的な見直しを検討しており、財政再建との両立が課題となっている。")
    assert easy is not None and hard is not None
    assert easy > hard
    assert readability_band(easy) in {"upper elementary", "lower elementary", "lower intermediate"}
    assert readability_band(hard) in {"upper advanced", "lower advanced", "upper intermediate"}


def test_each_subtitle_line_is_at_least_one_sentence():
    assert as_sentences(["こんばんは", "今日は雑談です！", "  ", "草"]) == "こんばんは。今日は雑談です！草"


def test_unpunctuated_lines_are_not_fused_into_one_long_sentence():
    lines = ["今日はゲームをします", "初見さんいらっしゃい", "ゆっくりしていってね", "じゃあ始めようか"]
    fused = readability_score("".join(lines))
    assert transcript_readability(lines) == readability_score("。".join(lines) + "。")
    assert transcript_readability(lines) > fused  # short sentences read easier
    assert transcript_readability([]) is None
