import pytest

from aivlingual_assets.analysis.lexicon import (
    find_grammar_pattern,
    find_lexicon_entry,
    find_mistake_rule,
    grammar_patterns,
    lexicon,
    mistake_rules,
)
from aivlingual_assets.analysis.extraction.grammar_items import BELOW_OFFERED, grammar_raw_matches
from aivlingual_assets.analysis.extraction.line import prepare
from aivlingual_assets.analysis.offline_extractor import extract_expressions
from aivlingual_assets.analysis.schemas import Category, Level, TranscriptLine
from aivlingual_assets.analysis.tokenizer import fold_for_matching, is_kana, tokenize


def test_lexicon_size_and_shape():
    lex = lexicon()
    assert len(lex) >= 600
    names = [e.expression for e in lex.entries]
    assert len(names) == len(set(names)), "duplicate lexicon expressions"
    for e in lex.entries:
        assert e.meaning and e.explanation
        assert e.source, f"{e.expression}: say where the meaning was checked"
        assert is_kana(e.reading.replace("ー", "")), e.expression
        assert e.category in {Category.slang, Category.internet, Category.vtuber_culture,
                              Category.cultural_reference, Category.vocabulary}
    for must in ["草", "てぇてぇ", "推し", "推し活", "箱推し", "スパチャ", "赤スパ", "同接", "初見", "古参", "神回",
                 "切り抜き", "凸待ち", "ガチ恋", "ワンチャン", "エモい", "それな", "ぴえん", "尊い", "沼", "布教", "配信",
                 "枠", "待機", "歌枠", "雑談", "コラボ", "案件", "メン限", "鯖", "草生える", "大草原", "888", "w",
                 "おつ", "ママ", "パパ", "中の人", "転生", "卒業", "同期", "先輩"]:
        assert find_lexicon_entry(must) is not None, must


@pytest.mark.parametrize(
    "variant, canonical",
    [("てえてえ", "てぇてぇ"), ("テェテェ", "てぇてぇ"), ("ｗｗｗ", "w"), ("乙", "おつ"), ("おつかれ", "おつ"),
     ("スーパーチャット", "スパチャ"), ("ＡＳＭＲ", "ASMR")],
)
def test_variants_map_to_their_entry(variant, canonical):
    assert find_lexicon_entry(variant).expression == canonical


def _find(text):
    folded, _ = fold_for_matching(text)
    toks = tokenize(folded)
    bounds = {0, len(folded)} | {t.begin for t in toks} | {t.end for t in toks}
    for t in toks:
        bounds.update(t.inner)
    return [(m.entry.expression, folded[m.start : m.end]) for m in lexicon().find(folded, bounds)]


def test_longest_match_and_word_boundaries():
    assert _find("大草原") == [("大草原", "大草原")]
    assert _find("草生えた") == [("草生える", "草生えた")]
    assert _find("広い草原に行った") == []  # 草 inside 草原 is grass, not laughter
    assert _find("草むしりした") == []
    assert _find("８８８８") == [("888", "8888")]
    assert _find("1888年") == []


def test_a_short_word_whose_first_sound_sudachi_glued_to_the_ending_before_is_found():
    # 聞こえ|た|ならす|まん: なら + すまん, read up to the word it ends in a particle or auxiliary
    assert _find("聞こえたならすまん") == [("すまん", "すまん")]
    assert _find("広い草原に行った") == []  # 草 starts 草原, a word of its own: nothing was glued


def test_no_spelling_belongs_to_two_entries():
    owners: dict[str, str] = {}
    for e in lexicon().entries:
        for s in e.spellings():
            assert owners.setdefault(s, e.expression) == e.expression, (s, owners[s], e.expression)


@pytest.mark.parametrize(
    "line, expression, said",
    [
        ("ニコ生でスレ立てた", "スレ", "スレ"),
        ("ガラケーからスマホに変えた", "ガラケー", "ガラケー"),
        ("取り返しがつかねえ", "取り返しがつかない", "取り返しがつかねえ"),
        ("取り返しのつかないことをした", "取り返しがつかない", "取り返しのつかない"),
        ("先輩が助け舟を出してくれた", "助け舟を出す", "助け舟を出し"),
        ("甘いものに目がない", "目がない", "目がない"),
        ("二時間あっという間だった", "あっという間", "あっという間"),
        ("マジで腹立つ", "腹が立つ", "腹立つ"),
        ("足引っ張ってごめん", "足を引っ張る", "足引っ張っ"),
        ("YouTubeを漁ってた", "漁る", "漁っ"),
        ("コメ欄盛り上がってる", "盛り上がる", "盛り上がっ"),
        ("料理が得意", "得意", "得意"),
        ("引っ越し大変だった", "大変", "大変"),
        ("すんなり勝てた", "すんなり", "すんなり"),
        ("ええやんけ", "ええ", "ええ"),
        ("ほんまにおもろいわ", "おもろい", "おもろい"),
        ("ちゃうちゃう、そうやなくて", "ちゃう", "ちゃうちゃう"),
        ("ガチャ引いた", "ガチャ", "ガチャ"),
        ("クソ眠い", "クソ", "クソ"),
        ("この唐揚げ優勝", "優勝", "優勝"),
        ("ちょっと待って、何それ", "ちょっと待って", "ちょっと待って"),
        ("しゃーない", "仕方がない", "しゃーない"),
        ("天井まで回した", "天井", "天井"),
        ("ホロ民集合", "民", "民"),
        ("ちなワイは阪神ファン", "ちな", "ちな"),
        ("気の許せる相手欲しいンゴねぇ", "ンゴ", "ンゴねぇ"),
        ("そんなに奪ってたんか サンガツ", "サンガツ", "サンガツ"),
        ("データ入力とはダンチ", "ダンチ", "ダンチ"),
        ("見とけってVの者おるか？", "Vの者", "vの者"),
        ("実況スレ200人超えとったな", "実況スレ", "実況スレ"),
        ("変な話、コード理論詳しくなくても作れる", "変な話", "変な話"),
        ("仲間外れにされてハブられた", "ハブる", "ハブられた"),
        ("コメ欄荒れてる", "荒れる", "荒れてる"),
        ("あっ…(察し)", "察し", "あっ...(察し)"),
        ("強すぎて草", "〜で草", "すぎて草"),
        ("ゆっくり実況見てた", "ゆっくり実況", "ゆっくり実況"),
        ("なんていうか、すごく心惹かれて", "なんていうか", "なんていうか"),
        ("正直に言うと、お金かかります", "正直に言うと", "正直に言うと"),
        ("明日もこの調子でお願いします", "この調子", "この調子で"),
        ("というわけで、今日はここまで", "というわけで", "というわけで"),
    ],
)
def test_an_entry_is_found_as_said_in_its_everyday_sense(line, expression, said):
    assert (expression, said) in _find(line)


@pytest.mark.parametrize(
    "line, expression",
    [
        ("流しておけば大丈夫", "おけ"),  # 置く, not OK
        ("忘れがちだよね", "ガチ"),  # the suffix 〜がち, not ガチ
        ("選びがちだよね", "ガチ"),
        ("ガチャガチャ回した", "ガチャ"),  # capsule toys / a rattle
        ("ええ、そうです", "ええ"),  # plain "yes"
        ("大変申し訳ございません", "大変"),  # the adverb "very"
        ("得意先に電話した", "得意"),  # a client
        ("ちょっと待ってください", "ちょっと待って"),  # a real request
        ("眠くてしょうがない", "仕方がない"),  # 〜てしょうがない is grammar
        ("目がないロボット", "目がない"),
        ("大会で優勝した", "優勝"),  # a real championship
        ("頭痛い", "イタい"),  # physical pain
        ("天井が高い", "天井"),  # a real ceiling
        ("地球環境を守る", "環境"),
        ("救急箱を持ってきて", "箱"),
        ("県民の声", "民"),
        ("釣り行った", "釣られる"),
        ("忘れちゃうかも", "ちゃう"),  # 〜てしまう, not Kansai 違う
        ("それいいね", "イイネ"),  # "sounds good", not the Like button
        ("あかんぼうが泣いてる", "あかん"),
        ("卒業式に出た", "卒業"),
        ("スマホいじってた", "イジる"),  # fiddling with, not teasing
        ("くじを引く", "引くわ"),
        ("ちなみに明日休み", "ちな"),  # ちなみに is the whole word
        ("ファッションが好き", "ファッ"),
        ("変な話をした", "変な話"),  # a story that was strange
        ("天才かもしれない", "天才か"),  # a guess, not the retort 天才か！
        ("真面目かどうか", "真面目か"),
        ("肌が荒れてる", "荒れる"),  # rough skin, not a flame war
        ("彼は察しがいい", "察し"),  # perceptive
        ("ここで草むしり", "〜で草"),
        ("良き日になりますように", "良き"),  # the classical attributive before a noun
        ("屈伸運動をする", "屈伸"),  # knee bends, not the taunt
        ("ポストシーズン次第やな", "ツイート"),  # the post-season, not a post on X
        ("食欲もそんなにわかず", "にわか"),  # そんなに + 湧かず, not a bandwagon fan
        ("それ以上くわしく聞いても無駄", "kwsk"),  # the everyday adverb, not the net request
        ("情報をリアルタイムで手に入れる", "リアタイ"),  # the loanword, not watching a stream live
        ("大袈裟すぎるという訳です", "というわけで"),  # "that's the reason", not the discourse "so"
        ("それは好きというわけではない", "というわけで"),
        ("この調子が悪いパソコン", "この調子"),  # この + 調子が悪い
        ("それなんですよ、飽きますから", "それな"),  # それ + なんです, not "so true"
        ("それならいいよ", "それな"),
    ],
)
def test_an_entry_does_not_fire_inside_another_word_or_sense(line, expression):
    assert expression not in [e for e, _ in _find(line)], _find(line)


def test_grammar_patterns_documented_and_levelled():
    pats = grammar_patterns()
    assert len(pats) >= 25
    for p in pats:
        assert p.level in {Level.N5, Level.N4, Level.N3, Level.N2, Level.N1}
        assert p.meaning and p.explanation and p.examples
    for name in ["〜ちゃう", "〜てみる", "〜なきゃ", "〜っぽい", "〜じゃん", "〜わけじゃない", "〜かもしれない",
                 "〜ようにする", "〜ばよかった", "〜てしまう", "〜ながら", "〜らしい", "〜ことにする", "〜てくれる", "〜すぎる"]:
        assert find_grammar_pattern(name) is not None, name
    assert {"ra_nuki", "i_nuki", "sa_ire"} <= {m.id for m in mistake_rules()}
    assert find_mistake_rule("ら抜き言葉").id == "ra_nuki"


@pytest.mark.parametrize(
    "name",
    ["〜た上で", "〜ない限り", "〜っていうより", "〜まである", "〜たまま", "〜ずに", "〜様様", "〜っちゃ〜", "〜なら〜でいい",
     "〜てらっしゃる", "〜ん", "〜ねえ", "〜てえ", "〜つつ", "〜ええ (vowel-merged adjective)", "〜つって", "〜っけ",
     "〜わけがない", "〜ばかり", "〜はず", "〜がち", "〜ておく", "〜てくる", "〜ていく", "〜ばいい", "〜たらいい", "〜しかない",
     "〜にとって", "〜について", "〜によって", "〜わりに", "〜くせに", "〜おかげ", "〜せいで", "〜ものの", "〜ものだ",
     "〜ことはない", "〜に違いない", "〜ざるを得ない", "〜とは限らない", "〜に越したことはない", "〜つつある", "〜ばかりか",
     "〜による", "〜とともに", "〜とはいえ", "〜かと思うと", "〜じゃないか", "〜に伴って", "〜に沿って", "〜ようで", "〜んない",
     "〜みたく", "〜並み", "〜ず", "〜につき", "〜につきましては", "〜とされる", "〜と言えば", "〜と言えば〜", "〜にかかっている",
     "〜と言いますか", "〜かっていうと", "〜からには", "〜ないことには", "〜一方だ", "〜一方で", "〜づらい", "〜放題", "〜三昧",
     "〜を問わず", "〜にわたって", "〜てまう", "〜りゃ", "〜という〜", "たとえ〜ても", "〜通り",
     "〜んと", "〜んといかん", "〜といったら", "〜分", "〜にやられる", "〜ような〜ないような", "〜中", "〜というか",
     "〜というわけだ", "〜んとちゃう", "〜たほうがいい", "〜からしたら", "〜られる", "〜まま"],
)
def test_the_grammar_of_casual_speech_a_teacher_picks_is_covered(name):
    assert find_grammar_pattern(name) is not None, name


@pytest.mark.parametrize("pattern", grammar_patterns(), ids=lambda p: p.id)
def test_every_grammar_pattern_detects_its_examples(pattern):
    for example in pattern.examples:
        items = extract_expressions([TranscriptLine(start=0, end=1, text=example)])
        offered = any(i.lemma == pattern.pattern and i.category == Category.grammar for i in items)
        if pattern.level in BELOW_OFFERED:  # recognised, but below an intermediate learner: not offered
            line = prepare(TranscriptLine(start=0, end=1, text=example))
            assert any(p is pattern for *_, p in grammar_raw_matches(line)) and not offered, (example, items)
        else:
            assert offered, (example, items)


@pytest.mark.parametrize(
    "pattern", [p for p in grammar_patterns() if p.counter_examples], ids=lambda p: p.id
)
def test_no_grammar_pattern_fires_on_its_counter_examples(pattern):
    for line in pattern.counter_examples:
        raw = grammar_raw_matches(prepare(TranscriptLine(start=0, end=1, text=line)))
        assert not any(p is pattern for *_, p in raw), (line, raw)


@pytest.mark.parametrize(
    "line, pattern, not_pattern",
    [
        ("人によるで", "〜による", "〜によって"),  # the plain form is its own point: "it depends"
        ("人によって違う", "〜によって", "〜による"),
        ("悪くなる一方やな", "〜一方だ", "〜一方で"),  # "keeps getting worse", not "on the other hand"
        ("人気がある一方で批判も多い", "〜一方で", "〜一方だ"),
        ("日本みたく四季がある国", "〜みたく", "〜みたい"),
        ("この球は打ちづらい", "〜づらい", "〜にくい"),
        ("この字は読みにくい", "〜にくい", "〜やすい"),  # one row names the one point said
        ("もう待ちきれない", "〜切れない", "〜切る"),
        ("当たり前と言えば当たり前なんですけど", "〜と言えば〜", "〜っちゃ〜"),
    ],
)
def test_a_form_with_its_own_meaning_is_its_own_grammar_point(line, pattern, not_pattern):
    lemmas = {i.lemma for i in extract_expressions([TranscriptLine(start=0, end=1, text=line)]) if i.category == Category.grammar}
    assert pattern in lemmas and not_pattern not in lemmas, lemmas


def test_a_pattern_whose_tail_sudachi_fused_with_a_noun_ends_where_it_ends():
    # 代わってもう|たから ("treasure"): the row is 代わってもうた, not 代わってもうたから
    items = extract_expressions([TranscriptLine(start=0, end=1, text="監督代わってもうたからしゃーない")])
    row = next(i for i in items if i.lemma == "〜てまう")
    assert (row.expression, row.reading) == ("代わってもうた", "かわってもうた")


def test_grammar_patterns_say_where_they_were_checked():
    unsourced = [p.id for p in grammar_patterns() if not p.source]
    assert len(grammar_patterns()) >= 200
    assert len(unsourced) <= 50, unsourced  # the original 50 patterns predate the field


@pytest.mark.parametrize("rule", mistake_rules(), ids=lambda r: r.id)
def test_every_mistake_rule_detects_its_examples(rule):
    for example in rule.examples:
        items = extract_expressions([TranscriptLine(start=0, end=1, text=example)])
        hits = [i for i in items if i.category == Category.common_mistake]
        if rule.lemma:
            assert any(i.lemma == rule.lemma for i in hits), (example, items)
        else:
            assert any(rule.pattern in i.explanation for i in hits), (example, items)


@pytest.mark.parametrize(
    "regex, needed",
    [("てる", {"て"}), ("(?:ちゃ|じゃ)う", {"ち", "じ"}), ("[てで]しまう", {"て", "で"}), ("(?<=[ぁ-ん])ねえ", {"ね"}),
     ("x?ほど", {"ほ"}), (".+ほど", {"ほ"}), ("(?i)abc", None), ("[ぁ-ん]+", None)],
)
def test_required_chars_is_a_promise_read_from_the_regex(regex, needed):
    from aivlingual_assets.analysis.lexicon import required_chars

    assert required_chars(regex) == (frozenset(needed) if needed is not None else None)


def test_the_grammar_prefilter_never_skips_a_pattern_that_would_match(gold_stream):
    from aivlingual_assets.analysis.extraction.line import prepare
    from aivlingual_assets.analysis.lexicon import grammar_matchers, token_index

    examples = [TranscriptLine(start=0, end=1, text=x) for p in grammar_patterns() for x in p.examples]
    skipped = 0
    for line in [*gold_stream.lines, *examples]:
        prepared = prepare(line)
        index = token_index(prepared.tokens)
        for matcher in grammar_matchers():
            if not matcher.may_match(index, prepared.folded):
                skipped += 1
                assert not matcher.find(prepared.tokens, prepared.folded, index), (matcher.pattern.id, line.text)
    assert skipped  # the prefilter does skip work


# ---------------------------------------------------------------- sound changes of casual and Kansai speech
def _slang(text):
    return {e.lemma: e.expression for e in extract_expressions([TranscriptLine(start=0, end=1, text=text)])
            if e.category in (Category.slang, Category.internet)}


@pytest.mark.parametrize(
    "said, lemma, as_said",
    [
        ("ありゃ、壊れちゃった", "ありゃ", "ありゃ"),  # れは → りゃ
        ("こりゃひどいな", "こりゃ", "こりゃ"),
        ("そりゃそうだよ", "そりゃ", "そりゃそう"),
        ("そら４位も視野に入るやろ", "そら", "そら"),  # それは → そら, where Sudachi reads a pronoun
        ("言われたまんまやった", "まんま", "まんま"),  # まま with ん added
        ("どしたんや急に", "どしたん", "どしたんや"),  # どうしたの: ど, の → ん
        ("なに言ってんだ君が", "何言ってんだ", "なに言ってんだ"),  # を dropped, ている → てる, の → ん
        ("何やってんだよお前", "何やってんだ", "何やってんだ"),
        ("もうわけわかんなくなっちゃう", "訳が分からない", "わけわかんなく"),  # ら → ん
        ("日本語不自由なりにようやっとる", "よくやる", "ようやっとる"),  # Kansai よう (〜く → 〜う), とる (ている)
        ("はよ寝ろ", "はよ", "はよ"),
        ("でもウチは基本第一印象が大事", "ウチ", "ウチ"),  # pronouns of speech
        ("わしはもう寝るぞ", "わし", "わし"),
        ("あたしもそう思う", "あたし", "あたし"),
        ("うっせーな黙ってろ", "うっせー", "うっせー"),
        ("なんなんこれ", "なんなん", "なんなんこれ"),
        ("ガキの頃よく遊んだ", "ガキ", "ガキ"),
        ("どんだけ食べるの", "どんだけ", "どんだけ"),  # れ → ん before だけ
        ("こんだけ頑張ったのに", "そんだけ", "こんだけ"),
        ("今んとこ順調です", "今んとこ", "今んとこ"),  # の → ん, ところ → とこ
        ("やだ、行きたくない", "やだ", "やだ"),  # いやだ
        ("あとよろ", "よろ", "よろ"),  # よろしく clipped
        ("そうだべ", "だべ", "だべ"),
        ("いっちょやるか", "いっちょ", "いっちょやるか"),
        ("おっす、元気？", "おっす", "おっす"),
        ("ま？それほんと？", "マ？", "ま？"),
        ("sage進行でお願いします", "sage", "sage"),
        ("キッショ", "キショい", "キッショ"),  # not 切っ|しょ
        ("すげ、何これ", "すげ", "すげ"),
        ("やべ、忘れてた", "やばい", "やべ"),
        ("キッズが湧いてる", "キッズ", "キッズ"),
        ("言い訳に聞こえたならすまん", "すまん", "すまん"),  # Sudachi: 聞こえ|た|ならす|まん
        ("ふざけんなよ", "ふざけんな", "ふざけんなよ"),  # る → ん before the prohibitive な
        ("ちくしょう！", "ちくしょう", "ちくしょう"),
        ("ったく、しょうがねえな", "ったく", "ったく"),  # まったく clipped
        ("何だと？", "何だと", "何だと？"),
        ("こっから表の攻撃", "こっから", "こっから"),  # ここから: the vowel swallowed before から
        ("まあいっか", "いっか", "まあいっか"),  # いいか squeezed
        ("ちょまって、今の何", "ちょま", "ちょまって"),
        ("まぢでむり", "マジ", "まぢで"),
        ("ほんまにええやつやで", "ええやつ", "ええやつ"),  # Sudachi: ええ|や|つや|で
        ("ナカジもすこや", "すこ", "すこ"),
    ],
)
def test_a_contracted_word_is_offered_as_said_with_its_standard_form(said, lemma, as_said):
    found = _slang(said)
    assert found.get(lemma) == as_said, found


@pytest.mark.parametrize(
    "said, lemma",
    [
        ("金がありゃ買えるのに", "ありゃ"),  # あれば, not あれは
        ("そんなものありゃしない", "ありゃ"),
        ("そらを見上げた", "そら"),  # 空 "sky"
        ("まんまと騙された", "まんま"),  # まんまと "neatly", another word
        ("どしたらいいの", "どしたん"),
        ("これはなんなんでしょう", "なんなん"),  # standard 何なのでしょう
        ("私のウチへ来てください", "ウチ"),  # home
        ("ウチワを持ってきた", "ウチ"),
        ("おはようございます", "はよ"),
        ("よくやるゲームはこれ", "よくやる"),  # "a game I often play"
        ("鷲が飛ぶ、わしづかみ", "わし"),
        ("そんなのいやだよ", "やだ"),
        ("よろしくお願いします", "よろ"),
        ("ずっとだべってた", "だべ"),  # 駄弁る "to chat idly"
        ("あいついっちょまえだな", "いっちょ"),
        ("これま？", "マ？"),
        ("send a message", "sage"),
        ("すげえな", "すげ"),  # すげえ is the vowel-merged adjective (grammar), not clipped すげ
        ("キッズルームで遊ぶ", "キッズ"),
        ("もうすこし待って", "すこ"),  # 少し
        ("それがなんだと思う？", "何だと"),
        ("まったく違う", "ったく"),
        ("そう、それ！まさにそれ！", "ほんとそれ"),  # "that (one)!", not the net "so true"
        ("謝るしかないんとちゃう", "ちゃう"),  # part of 〜んとちゃう "isn't it?" (grammar), not 違う
        ("ブラックは昭和ライダーやろ", "ブラック企業"),
        ("いっかげつ待った", "いっか"),  # a name; ブラック alone is not a black company
        ("すこやかに育つ", "すこ"),  # 健やか
    ],
)
def test_a_contracted_word_does_not_fire_on_its_look_alikes(said, lemma):
    assert lemma not in _slang(said)
