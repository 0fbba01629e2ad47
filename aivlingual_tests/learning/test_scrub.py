"""Personal data never survives scrubbing; ordinary learning text is left alone."""

from __future__ import annotations

import json

import pytest

from aivlingual_assets.learning.scrub import find_personal_data, scrub_messages, scrub_text

# (text, the personal pieces that must be gone afterwards)
NASTY = [
    ("連絡は taro.yamada+vt@example.co.jp まで", ["taro.yamada", "example.co.jp"]),
    ("メールは ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ です", ["ｔａｒｏ", "ｅｘａｍｐｌｅ"]),
    ("support@vtuber-agency.com か hana_09@mail.example.org", ["support@", "hana_09", "vtuber-agency"]),
    ("携帯 090-1234-5678 に電話して", ["1234", "5678"]),
    ("固定は03-1234-5678、フリーダイヤル0120-123-456", ["03-1234", "0120-123-456"]),
    ("(03)9876-5432 か 09087654321 で", ["9876", "87654321"]),
    ("全角 ０９０－１１２２－３３４４ も", ["１１２２", "３３４４"]),
    ("international +81 90-2222-3333 and +81-3-4444-5555", ["2222", "4444"]),
    ("US +1 (415) 555-2671 or 415.555.2671 or 212-555-0199", ["555-2671", "555.2671", "555-0199"]),
    ("UK +44 20 7946 0958", ["7946", "0958"]),
    ("チャンネル https://www.youtube.com/@taro_vt_ch 見てね", ["taro_vt_ch"]),
    ("https://youtube.com/channel/UC1234567890abcdefghijkl です", ["UC1234567890abcdefghijkl"]),
    ("twitter.com/hanako_0721 と x.com/hanako_0721 をフォロー", ["hanako_0721"]),
    ("https://x.com/tarou_desu/status/1234567890123?s=20", ["tarou_desu"]),
    ("https://example.com/profile?user=secretuser99&ref=abc", ["secretuser99"]),
    ("https://www.twitch.tv/streamer_sakura で配信中", ["streamer_sakura"]),
    ("詳しくは www.my-personal-blog.jp/about-me を", ["my-personal-blog"]),
    ("instagram.com/akane.photo/ と tiktok.com/@akane_dance", ["akane.photo", "akane_dance"]),
    ("@taro_vt さんありがとう", ["taro_vt"]),
    ("＠ぺこら推し太郎 よろしく", ["ぺこら推し太郎"]),
    ("タロウさんスパチャありがとう！", ["タロウ"]),
    ("田中一郎さん、いらっしゃい〜", ["田中一郎"]),
    ("Hanakoさん初見ありがとう", ["Hanako"]),
    ("佐藤のりおさんメンバーシップありがとうございます", ["佐藤のりお", "のりお"]),
    ("ゆきちゃん、おかえり！", ["ゆき"]),
    ("ありがとう、山田様！", ["山田"]),
    ("John Smithくん赤スパありがとう", ["John", "Smith"]),
    ("Taro_99スパチャありがとう", ["Taro_99"]),
    ("草生えるミケ猫さんナイスパ", ["ミケ猫"]),
    ("[12.00-15.50] 鈴木さんこんばんは、スパチャありがとう", ["鈴木"]),
    ("thank you Taro for the super chat!", ["Taro"]),
    ("welcome back, Hanako_Chan! ナイスパ", ["Hanako_Chan"]),
    # glued to Japanese text, no spaces
    ("連絡はtaro@example.jpまで", ["taro", "example.jp"]),
    ("電話は09011112222です", ["11112222"]),
    ("ありがとう@hanako_vtさん", ["hanako_vt"]),
    ("リンクはx.com/secret_userです", ["secret_user"]),
    ("番号は03-3333-4444。", ["3333-4444"]),
    # chat-log lines ("name: message") and a bare name before thanks for a super chat
    ("taro_99: 草", ["taro_99"]),
    ("山田太郎: こんばんは", ["山田太郎"]),
    ("鈴木花子：初見です！", ["鈴木花子"]),
    ("[chat] ゆうき: 初見です", ["ゆうき"]),
    ("[12.00-15.50] Hanako: 8888", ["Hanako"]),
    ("12:01 hana.0721: きたー", ["hana.0721"]),
    ("ゆきだるま、スパチャありがとう！", ["ゆきだるま"]),
    ("山田太郎、赤スパありがとう", ["山田太郎"]),
    ("コメントでさくらさんが教えてくれた", ["さくら"]),
]


@pytest.mark.parametrize(("text", "secrets"), NASTY, ids=[str(i) for i in range(len(NASTY))])
def test_no_personal_data_survives(text, secrets):
    scrubbed = scrub_text(text)
    for secret in secrets:
        assert secret not in scrubbed, f"{secret!r} survived in {scrubbed!r}"
    assert find_personal_data(scrubbed) == []
    assert scrub_text(scrubbed) == scrubbed  # idempotent


def test_all_nasty_strings_in_one_chat_message():
    blob = "\n".join(text for text, _ in NASTY)
    messages = [{"role": "system", "content": "teacher"}, {"role": "user", "content": blob},
                {"role": "assistant", "content": json.dumps({"example": blob}, ensure_ascii=False)}]
    out = scrub_messages(messages)
    for text, secrets in NASTY:
        for secret in secrets:
            assert secret not in out[1]["content"] and secret not in out[2]["content"]
    assert json.loads(out[2]["content"])["example"] == out[1]["content"]  # JSON stays valid, same placeholders
    assert [m["role"] for m in out] == ["system", "user", "assistant"]


def test_placeholders_name_what_was_removed():
    out = scrub_text("a@b.jp 090-1234-5678 https://x.com/abc @abc タロウさんスパチャありがとう")
    assert out == "[email] [phone] [url] [handle] [viewer]さんスパチャありがとう"


@pytest.mark.parametrize(("text", "expected"), [
    ("taro_99: 草", "[viewer]: 草"),
    ("[chat] ゆうき: 初見です", "[chat] [viewer]: 初見です"),
    ("ゆきだるま、スパチャありがとう！", "[viewer]、スパチャありがとう！"),
    # the particle before the name belongs to the sentence
    ("コメントでさくらさんが教えてくれた", "コメントで[viewer]さんが教えてくれた"),
    ("配信でゆきちゃんがスパチャくれた", "配信で[viewer]ちゃんがスパチャくれた"),
    ("佐藤のりおさんメンバーありがとう", "[viewer]さんメンバーありがとう"),  # の can start a name: kept in it
])
def test_viewer_names_are_replaced_and_the_sentence_around_them_kept(text, expected):
    assert scrub_text(text) == expected


def test_youtube_video_links_are_kept_without_tracking_parameters():
    text = "元動画 https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=120s&si=SECRETTRACK と youtu.be/dQw4w9WgXcQ?si=ABC"
    out = scrub_text(text)
    assert "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=120s" in out
    assert "SECRETTRACK" not in out and "si=ABC" not in out
    assert find_personal_data(out) == []


BENIGN = [
    "みなさんこんばんは！今日も来てくれてありがとう",
    "お疲れ様でした、スパチャありがとう",
    "初見さんいらっしゃい",
    "たくさんスパチャありがとう",
    "お母さんありがとう",
    "今日はちゃんと寝ます",
    "[0.00-4.50] 草生える",
    "[1234.56-1240.00] 2024-01-15 に 100人 1,234,567円",
    '{"items":[{"expression":"ワンチャン","reading":"わんちゃん","start":12.5,"end":15.0}]}',
    "推しの配信マジでてぇてぇ",
    "Use 〜てしまう for regret, e.g. 食べちゃった.",
    "Thanks everyone for watching! Thank you so much, see you tomorrow.",
    # labels and everyday words that stand where chat names stand
    "意味: ありがとう (thank you)",
    "例：「草」はネットスラング",
    "Note: 草 means lol",
    "Q: スパチャって何？\nA: Super Chat, a paid comment.",
    "12:30 に配信開始",
    "はい、スパチャありがとう",
    "今日も、スパチャありがとう",
    "お疲れ様でした、スパチャありがとう",
    "みなさん、スパチャありがとう",
]


@pytest.mark.parametrize("text", BENIGN)
def test_ordinary_text_is_untouched(text):
    assert scrub_text(text) == text
