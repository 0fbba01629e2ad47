"""Removing personal data from text before it leaves the machine as training data.

What is replaced, and by what (decided for this project):

========================  =============================================  ==================
kind                      examples                                       placeholder
========================  =============================================  ==================
e-mail addresses          taro.yamada+vt@example.co.jp, ｔａｒｏ＠ｘ.jp      ``[email]``
URLs                      every http(s)/www URL and every "domain.tld/    ``[url]``
                          path" (youtube.com/@handle, /channel/UC...,
                          twitter.com/<user>, x.com/<user>, ?user=...,
                          personal sites, tracking links)
                          **except** links to a YouTube *video*           ``https://www.youtube.com/watch?v=<id>``
                          (watch?v=, youtu.be/<id>, /shorts/<id>,        (only the video id
                          /live/<id>), which are public stream content   and ``t`` are kept)
phone numbers             090-1234-5678, 03-1234-5678, (03)1234-5678,    ``[phone]``
                          0120-123-456, 09012345678, +81 90 1234 5678,
                          +1 (415) 555-2671, 415.555.2671, full-width
                          digits, 090・1234・5678, 090.1234.5678
@handles                  @taro_vt, ＠ぺこら推し                           ``[handle]``
viewer names read from    タロウさんスパチャありがとう,                     ``[viewer]`` (the
chat                      田中さん、いらっしゃい, Taroくん初見ありがとう,        honorific is kept:
                          ありがとう、山田様！, Taroスパチャありがとう,        ``[viewer]さん``)
                          ゆきだるま、スパチャありがとう
viewer names in chat-log  taro_99: 草, 山田太郎：こんばんは,                  ``[viewer]: 草``
lines                     [chat] ゆうき: 初見です
========================  =============================================  ==================

Japanese postal codes, street addresses, payment cards, My Numbers, messenger ids and full
names with an honorific are replaced by the rules of :mod:`.scrub_ja` (``[postal]``,
``[address]``, ``[card]``, ``[mynumber]``, ``[id]``, ``[name]``), documented there.

Why generic URLs are not kept: a URL in a stream transcript or chat is nearly always a
person's channel, profile, shop, tracking link or private document; the few that are not
add nothing to a language-learning example.  YouTube video links are kept (normalised, with
query parameters such as ``si=``/``pp=``/``user=`` removed) because they point at the public
recording the example came from.

Viewer names are only recognised when the line *reads chat*: a name with an honorific
(さん, ちゃん, くん, 君, 様, さま, 氏, 殿) next to a chat cue (スパチャ, メンバー, 初見,
いらっしゃい, ありがとう, おかえり, こんばんは, ナイスパ, ...) within the same sentence, or a
Latin-letter name directly followed by such a cue, or a capitalised name after an English
greeting or thanks ("thank you Taro", "welcome back, Hanako"), or a bare word right before
"、" and thanks for money or a membership (スパチャ, 赤スパ, メンバーシップ, ...) unless it is an
interjection, time word or phrase (はい、 今日も、 お疲れ様でした、).  A chat-log line
"name: message" gives its name away when it is marked as chat ([chat]), the name looks like
a user name (letters with digits or ``_``), or the message reads chat (a cue, or nothing
but a reaction such as 草, www, 8888); labels (例:, 意味:, Note:, Q:) never count.  Everyday
words that look like names before さん (みなさん, お疲れさま, お客さん, ...) are never touched.
Where the name's start is ambiguous (Japanese has no spaces) the scrubber prefers removing a
little too much to leaving part of a name - except a particle that cannot start a name
(コメントでさくらさん keeps its で).

JSON documents (the structured outputs) are scrubbed value by value and stay valid JSON.
All functions are pure and deterministic; :func:`scrub_text` is idempotent.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from .scrub_ja import JA_PLACEHOLDERS, scrub_full_names, scrub_japanese

__all__ = [
    "PLACEHOLDERS",
    "ScrubReport",
    "find_personal_data",
    "scrub_messages",
    "scrub_text",
]

PLACEHOLDERS = {
    "email": "[email]",
    "url": "[url]",
    "phone": "[phone]",
    "handle": "[handle]",
    "viewer": "[viewer]",
    **JA_PLACEHOLDERS,
}

# ---------------------------------------------------------------------------------- patterns
_FW_DIGITS = "０-９"
_DIGIT = f"[0-9{_FW_DIGITS}]"
_HYPHENS = "\\-‐‑‒–—―−ｰー－"

# e-mail: ASCII or full-width local part and domain (people type ＠ on Japanese keyboards)
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+\-＋－．])"
    r"[A-Za-z0-9Ａ-Ｚａ-ｚ０-９._%+\-＋－．]+"
    r"\s?[@＠]\s?"
    r"[A-Za-z0-9Ａ-Ｚａ-ｚ０-９\-－]+(?:[.．][A-Za-z0-9Ａ-Ｚａ-ｚ０-９\-－]+)*[.．][A-Za-zＡ-Ｚａ-ｚ]{2,}"
)

_URL_CHARS = r"A-Za-z0-9\-._~:/?#\[\]@!$&*+,;=%'()"
_URL = re.compile(rf"(?:(?:https?|ftp)://|www\.)[{_URL_CHARS}]+", re.IGNORECASE)
# scheme-less "domain.tld/path" (x.com/taro, youtube.com/@taro, example.jp/~taro/)
_BARE_URL = re.compile(
    rf"(?<![A-Za-z0-9@.\-/])(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{{0,61}}[A-Za-z0-9])?\.)+"
    rf"(?:com|net|org|jp|tv|io|me|co|gg|be|ly|info|xyz|app|dev|link|page|to|fm|live|social|site|blog)"
    rf"/[{_URL_CHARS}]*",
    re.IGNORECASE,
)
_YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_\-]{11}$")

# phone numbers: international (+CC ...), Japanese domestic (0...), North American (NNN-NNN-NNNN)
_SEP = rf"[{_HYPHENS}\s.・(（)）]"
# number boundaries: no ASCII letter/digit (or decimal point + digit) glued on; Japanese text may be
_NUM_BEFORE = r"(?<![0-9０-９A-Za-z])(?<![0-9０-９][.．,])"
_NUM_AFTER = r"(?![0-9０-９A-Za-z]|[.．,][0-9０-９])"
_PHONE_INTL = re.compile(
    rf"(?<![0-9０-９A-Za-z+＋])[+＋]\s?{_DIGIT}{{1,3}}(?:{_SEP}{{0,3}}{_DIGIT}{{1,5}}){{2,6}}{_NUM_AFTER}"
)
_JP_SEP = rf"[{_HYPHENS}\s(（)）.．・･]"  # 090・1234・5678, 090.1234.5678
_PHONE_JP = re.compile(
    rf"{_NUM_BEFORE}[(（]?[0０]{_DIGIT}{{0,4}}[)）]?{_JP_SEP}{{0,2}}{_DIGIT}{{1,4}}"
    rf"{_JP_SEP}{{0,2}}{_DIGIT}{{3,4}}{_NUM_AFTER}"
)
_PHONE_NANP = re.compile(
    rf"{_NUM_BEFORE}[(（]?{_DIGIT}{{3}}[)）]?[{_HYPHENS}\s.．]{{1,2}}{_DIGIT}{{3}}[{_HYPHENS}\s.．]{_DIGIT}{{4}}"
    rf"{_NUM_AFTER}"
)

# @handles (YouTube handles allow Japanese characters, dots, hyphens and middle dots)
_HANDLE = re.compile(r"(?<![A-Za-z0-9Ａ-Ｚａ-ｚ０-９_@＠.])[@＠][\w][\w.\-・]*", re.UNICODE)

# ---- viewer names -----------------------------------------------------------------------
# honorifics, minus the words they start (様子, さまざま, ちゃんと, 氏名, 殿堂, 君主 ...)
_HONORIFIC = r"(?:さん|ちゃん(?!と)|チャン|くん|クン|君(?![主臨子])|様(?![子々式相態])|さま(?!ざ)|サマ|氏(?![名族])|殿(?![堂下]))"
_CUES = (
    "スパチャ", "スーパーチャット", "スーパーサンクス", "スーパーステッカー", "赤スパ", "ナイスパ", "投げ銭",
    "メンバーシップ", "メンシ", "メンバー", "メンギフ", "ギフト", "初見", "はじめまして", "初めまして",
    "いらっしゃい", "ようこそ", "おかえり", "お帰り", "ただいま", "ありがとう", "ありがと", "あざす", "あざまる",
    "サンキュー", "感謝", "こんばんは", "こんにちは", "おはよう", "コメント", "フォロー", "登録", "よろしく",
    "おつかれ", "お疲れ", "おつ", "乙", "thanks", "thank you", "thx", "welcome",
)
_CUE_RE = re.compile("|".join(re.escape(c) for c in sorted(_CUES, key=len, reverse=True)), re.IGNORECASE)
# words that stand before さん/さま/様 and are not names
_NOT_NAMES = (
    "みな", "皆", "みんな", "皆んな", "お客", "おきゃく", "お姉", "おねえ", "お兄", "おにい", "お父", "おとう",
    "お母", "おかあ", "おじい", "おばあ", "お爺", "お婆", "おじ", "おば", "お嬢", "おじょう", "奥", "おく",
    "お疲れ", "おつかれ", "お疲", "ご苦労", "ごくろう", "ご馳走", "ごちそう", "お世話", "おせわ", "お互い",
    "おたがい", "お陰", "おかげ", "お粗末", "おそまつ", "神", "かみ", "王", "姫", "お姫", "おひめ", "殿",
    "ご主人", "旦那", "だんな", "お隣", "お得意", "大家", "お医者", "医者", "先生", "せんせい", "店員",
    "運転手", "お巡り", "おまわり", "お坊", "おぼう", "皆々", "各位", "視聴者", "リスナー", "お前", "自分",
    "僕", "私", "俺", "あなた", "あんた", "その", "この", "あの", "どの", "誰", "だれ", "どなた", "ママ",
    "パパ", "じい", "ばあ", "おっ", "たく", "初見", "常連", "新人", "新規", "メンバー", "配信者", "スタッフ",
    "マネ", "運営", "絵師", "ママ", "お母", "猫", "ねこ", "ネコ", "犬", "いぬ", "イヌ", "わん", "ワン", "赤",
    "あか", "坊", "ぼっ", "お子", "子供", "娘", "息子", "皆の", "みなの", "みんなの", "おひとり", "お一人",
)
_SENTENCE_END = "。．！？!?\n「」『』"
# particles that follow a noun and (unlike は, と, の, も ...) practically never start a given name
_PARTICLES = ("から", "まで", "より", "で", "を", "が", "へ")
_WINDOW = 18  # characters between a name and its chat cue (same sentence)


def _script(ch: str) -> str:
    code = ord(ch)
    if "ぁ" <= ch <= "ゖ" or ch in "ゝゞ":
        return "hira"
    if "ァ" <= ch <= "ヺ" or ch in "ーヽヾｰ" or "ｦ" <= ch <= "ﾟ":
        return "kata"
    if 0x4E00 <= code <= 0x9FFF or 0x3400 <= code <= 0x4DBF or ch in "々〆ヶ" or 0xF900 <= code <= 0xFAFF:
        return "kanji"
    if ch.isascii() and (ch.isalnum() or ch in "_-.'") or "Ａ" <= ch <= "Ｚ" or "ａ" <= ch <= "ｚ" or "０" <= ch <= "９" \
            or ch in "＿－":
        return "latin"
    if ch.isdigit():
        return "latin"
    return "other"


def _name_start(text: str, end: int) -> int:
    """Where the viewer name that ends at ``end`` begins (see the module docstring).

    A name is the run of kanji, katakana and Latin letters/digits before the honorific
    (ミケ猫, 黒猫, Taro_99, John Smith); a hiragana name (ゆき) is the hiragana run, extended
    over a kanji family name before it (佐藤のりお), but not over a particle that follows a word
    (コメントでさくら, 配信でゆき: the name starts after で).  Hiragana elsewhere ends a name: it
    is where particles and verbs of the surrounding sentence are.
    """
    i = end
    if i == 0:
        return end
    last = _script(text[i - 1])
    if last == "other":
        return end
    if last == "hira":
        while i > 0 and _script(text[i - 1]) == "hira":
            i -= 1
        if i > 0 and _script(text[i - 1]) != "other":
            particle = next((p for p in _PARTICLES if text.startswith(p, i) and end - i - len(p) >= 2), None)
            if particle:  # コメントでさくら: で belongs to the sentence, not to the name
                return i + len(particle)
        while i > 0 and _script(text[i - 1]) == "kanji":
            i -= 1
        return i
    while i > 0:
        ch = text[i - 1]
        script = _script(ch)
        if script in ("kanji", "kata", "latin"):
            i -= 1
        elif ch == " " and i - 2 >= 0 and _script(text[i - 2]) == "latin" and _script(text[i]) == "latin":
            i -= 1  # Latin names may contain single spaces between words ("John Smith")
        else:
            break
    return i


def _clause_around(text: str, start: int, end: int) -> tuple[str, str]:
    """Text before ``start`` and after ``end`` within the same sentence, at most _WINDOW chars."""
    b = start
    while b > 0 and start - b < _WINDOW and text[b - 1] not in _SENTENCE_END:
        b -= 1
    a = end
    while a < len(text) and a - end < _WINDOW and text[a] not in _SENTENCE_END:
        a += 1
    return text[b:start], text[end:a]


def _is_not_a_name(text: str, start: int, end: int) -> bool:
    """True when the word right before the honorific is an everyday word (みなさん, お疲れさま ...).

    The word may cover the whole name found (お母さん, 初見さん), or end it after hiragana,
    where the name's start was only a guess (今日はみなさん); a name that merely ends in such
    a word after kanji/katakana (ミケ猫さん) is still a name.
    """
    name = text[start:end].strip()
    if not name or name.startswith("[") or name.endswith("]"):
        return True
    context = text[max(0, start - 4) : end]
    for word in _NOT_NAMES:
        if not context.endswith(word):
            continue
        if len(word) >= len(name) or _script(name[-len(word) - 1]) == "hira":
            return True
    return False


_HONORIFIC_RE = re.compile(_HONORIFIC)
_LATIN_BEFORE_CUE = re.compile(
    r"(?<![A-Za-z0-9_Ａ-Ｚａ-ｚ０-９\[\]])([A-Za-zＡ-Ｚａ-ｚ][A-Za-z0-9_Ａ-Ｚａ-ｚ０-９＿\-]{1,30})\s?(?=" + "|".join(
        re.escape(c) for c in ("スパチャ", "スーパーチャット", "赤スパ", "ナイスパ", "メンバーシップ", "メンシ", "メンギフ",
                               "初見", "いらっしゃい", "おかえり", "ありがとう")) + ")"
)


# English chat reading: "thank you Taro for the super chat", "welcome back, Hanako!"
_ENGLISH_CHAT = re.compile(
    r"\b(?i:thank you|thanks|thx|ty|welcome back|welcome|hi|hello|hey|otsu)\s*,?\s+"
    r"([A-Z][A-Za-z0-9_]{1,30}(?: [A-Z][A-Za-z0-9_]{1,30})?)\b",
)
_ENGLISH_NOT_NAMES = {
    "everyone", "everybody", "all", "guys", "chat", "you", "so", "for", "to", "very", "again", "back", "mods",
    "mod", "members", "member", "new", "the", "and", "folks", "friends", "lol", "too", "god", "i",
}

# chat replay lines, "name: message": "taro_99: 草", "山田太郎：こんばんは", "[chat] ゆうき: 初見です", "12:01 Hanako: lol"
_LINE_START = r"(?:^|(?<=[\ue000\ue002]))"  # also after a \n or \r escaped inside JSON text
_CHAT_LINE = re.compile(
    _LINE_START + r"(?P<lead>[ \t]*(?:(?:\[[^\]\n]{0,40}\]|\d{1,2}:\d{2}(?::\d{2})?)[ \t]*)*)"
    r"(?P<name>[^\s:：\[\]「」『』()（）<>、。，,]{2,24})[ \t]?[:：](?!//)[ \t]*(?P<message>[^\n\ue000\ue002]+)",
    re.MULTILINE,
)
_CHAT_MARKER = re.compile(r"\[(?:live ?chat|chat|super ?chat|チャット|コメント|スパチャ)\b[^\]]*\]", re.IGNORECASE)
_HANDLE_LIKE = re.compile(r"^(?=.*[A-Za-z])(?=.*[0-9_])[A-Za-z0-9_.\-]+$")  # taro_99, hana.0721
_CHAT_REACTION = re.compile(r"^(?:草|[wｗ]+|[8８]{3,}|lol|lmao|kusa|gg|笑|かわいい|可愛い|きた|キタ)+[!！?？~〜ー\s]*$",
                            re.IGNORECASE)
# what stands before a colon in explanations and prompts, not in chat
_LABELS = {
    "note", "notes", "example", "examples", "e.g", "eg", "i.e", "meaning", "meanings", "reading", "readings",
    "translation", "explanation", "answer", "question", "q", "a", "user", "assistant", "system", "prompt",
    "input", "output", "text", "line", "tip", "hint", "level", "category", "source", "context", "summary",
    "title", "expression", "lemma", "usage", "warning", "error", "ref", "nb", "ps", "transcript", "chat",
    "comment", "english", "japanese", "romaji", "literal", "nuance", "http", "https", "ftp", "mailto",
    "意味", "例", "例文", "用例", "読み", "読み方", "訳", "英訳", "和訳", "直訳", "意訳", "日本語", "英語",
    "注意", "注", "ポイント", "答え", "回答", "正解", "質問", "問題", "解説", "説明", "参考", "出典", "補足",
    "追記", "用法", "使い方", "類義語", "対義語", "品詞", "発音", "語源", "文法", "レベル", "カテゴリ", "備考",
    "理由", "結論", "例えば", "つまり", "タイトル", "概要", "要約", "コメント", "チャット", "視聴者", "リスナー",
    "配信者", "字幕", "場面", "元ネタ",
}

# a bare name right before thanks for money or a membership: "ゆきだるま、スパチャありがとう！"
_MONEY_CUES = ("スパチャ", "スーパーチャット", "スーパーサンクス", "スーパーステッカー", "赤スパ", "ナイスパ", "投げ銭",
               "メンバーシップ", "メンシ", "メンギフ")
_BARE_NAME_BEFORE_CUE = re.compile(
    r"(?:^|(?<=[\s。．！？!?「『」』、，,\]\ue000\ue002]))"
    r"([^\s、，,。．！？!?「」『』\[\]()（）:：]{2,20})[、，,]\s?(?=" + "|".join(map(re.escape, _MONEY_CUES)) + ")"
)
# interjections, adverbs and time words that stand there instead of a name ("はい、スパチャありがとう")
_NOT_BARE_NAMES = {
    "はい", "うん", "ええ", "えー", "えっ", "あー", "あっ", "おー", "おお", "おっ", "わー", "わあ", "わぁ", "うわ",
    "うわー", "よし", "さて", "じゃあ", "では", "また", "まじ", "マジ", "ほんと", "ほんとに", "本当", "本当に",
    "いつも", "さっき", "あと", "そして", "それと", "どうも", "ナイス", "今", "今日", "本日", "今夜", "今回",
    "前回", "毎回", "昨日", "今月", "先月", "今年", "連続", "追加", "大量", "早速", "続けて", "いっぱい",
}
_HONORIFIC_AT_END = re.compile(_HONORIFIC + "$")
_TRAILING_PARTICLE = re.compile(r"[\u4e00-\u9fff\u30a0-\u30ffA-Za-z0-9][もにではとがをへの]$")  # 今日も, 連続で


def _is_chat_speaker(name: str, lead: str, message: str) -> bool:
    """A "name: message" line is chat when it says so ([chat]), the name looks like a user name, or the
    message reads chat (a chat cue, or only a reaction such as 草 / www / 8888); labels never are."""
    if name.casefold() in _LABELS or name in _NOT_NAMES or name.isdigit() or name.endswith(("]", ".")):
        return False
    return bool(_CHAT_MARKER.search(lead) or _HANDLE_LIKE.match(name) or _CUE_RE.search(message)
                or _CHAT_REACTION.match(message.strip()))


def _is_bare_name(token: str) -> bool:
    """A word before "、スパチャ..." is a name unless it is an everyday word, a greeting or a phrase."""
    if token in _NOT_BARE_NAMES or token in _NOT_NAMES or _CUE_RE.search(token):
        return False
    if _HONORIFIC_AT_END.search(token) or _TRAILING_PARTICLE.search(token):
        return False  # 田中さん is the honorific rule's (keeps the honorific); 今日も is a phrase
    return not any(_script(ch) == "other" for ch in token)


def _scrub_viewers(text: str, counts: Counter) -> str:
    spans: list[tuple[int, int]] = []
    for match in _HONORIFIC_RE.finditer(text):
        end = match.start()
        start = _name_start(text, end)
        if start >= end:
            continue
        if _is_not_a_name(text, start, end):
            continue
        before, after = _clause_around(text, start, match.end())
        if _CUE_RE.search(after) or _CUE_RE.search(before):
            spans.append((start, end))
    for match in _LATIN_BEFORE_CUE.finditer(text):
        name = match.group(1)
        if name.lower() in {"nice", "super", "thanks", "thank", "thx", "ok", "www", "w"}:
            continue
        spans.append((match.start(1), match.end(1)))
    for match in _ENGLISH_CHAT.finditer(text):
        if match.group(1).split()[0].lower() not in _ENGLISH_NOT_NAMES:
            spans.append((match.start(1), match.end(1)))
    for match in _CHAT_LINE.finditer(text):
        if _is_chat_speaker(match.group("name"), match.group("lead"), match.group("message")):
            spans.append((match.start("name"), match.end("name")))
    for match in _BARE_NAME_BEFORE_CUE.finditer(text):
        if _is_bare_name(match.group(1)):
            spans.append((match.start(1), match.end(1)))
    if not spans:
        return text
    spans.sort()
    merged: list[tuple[int, int]] = []
    for s, e in spans:
        if merged and s <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], e))
        else:
            merged.append((s, e))
    out = []
    last = 0
    for s, e in merged:
        out.append(text[last:s])
        out.append(PLACEHOLDERS["viewer"])
        counts["viewer"] += 1
        last = e
    out.append(text[last:])
    return "".join(out)


def _youtube_video_url(url: str) -> str | None:
    """Canonical public video link for a YouTube *video* URL; None for anything else."""
    raw = url if "://" in url else "https://" + url
    try:
        parts = urlsplit(raw)
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if host.startswith("www.") or host.startswith("m."):
        host = host.split(".", 1)[1]
    query = parse_qs(parts.query)
    video: str | None = None
    if host == "youtu.be":
        video = parts.path.strip("/").split("/")[0]
    elif host in ("youtube.com", "music.youtube.com"):
        segments = [s for s in parts.path.split("/") if s]
        if segments == ["watch"]:
            video = (query.get("v") or [None])[0]
        elif len(segments) == 2 and segments[0] in ("shorts", "live", "embed"):
            video = segments[1]
    if not video or not _YOUTUBE_ID.match(video):
        return None
    t = (query.get("t") or [None])[0]
    suffix = f"&t={t}" if t and re.fullmatch(r"\d+s?|(\d+h)?(\d+m)?(\d+s)?", t) else ""
    return f"https://www.youtube.com/watch?v={video}{suffix}"


def _strip_url_tail(url: str) -> tuple[str, str]:
    """URLs in prose end before closing punctuation that is not part of them."""
    tail = ""
    while url and url[-1] in ".,;:!?'\")]":
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        if url[-1] == "]" and url.count("[") >= url.count("]"):
            break
        tail = url[-1] + tail
        url = url[:-1]
    return url, tail


def _replace_url(match: re.Match, counts: Counter) -> str:
    url, tail = _strip_url_tail(match.group(0))
    video = _youtube_video_url(url)
    if video is not None:
        return video + tail
    counts["url"] += 1
    return PLACEHOLDERS["url"] + tail


def _sub(pattern: re.Pattern, kind: str, text: str, counts: Counter, *, min_digits: int = 0,
         max_digits: int = 99) -> str:
    def repl(match: re.Match) -> str:
        value = match.group(0)
        if min_digits or max_digits != 99:
            digits = sum(ch.isdigit() for ch in value)
            if not min_digits <= digits <= max_digits:
                return value
        counts[kind] += 1
        lead = value[: len(value) - len(value.lstrip())]
        return lead + PLACEHOLDERS[kind]

    return pattern.sub(repl, text)


@dataclass
class ScrubReport:
    """How many replacements of each kind were made (safe for run metadata: no values)."""

    counts: Counter = field(default_factory=Counter)

    def add(self, other: Counter) -> None:
        self.counts.update(other)

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def as_metadata(self, prefix: str = "scrubbed/") -> dict[str, int]:
        return {f"{prefix}{kind}": int(self.counts.get(kind, 0)) for kind in PLACEHOLDERS}


# JSON string escapes (\n, \t, \r) would glue a letter to the next word; they are swapped for
# private-use characters while scrubbing and restored afterwards
_ESCAPES = {"\\n": "\ue000", "\\t": "\ue001", "\\r": "\ue002"}


def _scrub_plain(text: str, counts: Counter) -> str:
    protect = not any(ch in text for ch in _ESCAPES.values())
    if protect:
        for escape, sentinel in _ESCAPES.items():
            text = text.replace(escape, sentinel)
    text = _sub(_EMAIL, "email", text, counts)
    text = _URL.sub(lambda m: _replace_url(m, counts), text)
    text = _BARE_URL.sub(lambda m: _replace_url(m, counts), text)
    text = scrub_japanese(text, counts)  # before phone numbers: card numbers, postal codes, addresses
    text = _sub(_PHONE_INTL, "phone", text, counts, min_digits=8, max_digits=15)
    text = _sub(_PHONE_JP, "phone", text, counts, min_digits=10, max_digits=11)
    text = _sub(_PHONE_NANP, "phone", text, counts, min_digits=10, max_digits=10)
    text = _sub(_HANDLE, "handle", text, counts)
    text = _scrub_viewers(text, counts)
    text = scrub_full_names(text, counts)
    if protect:
        for escape, sentinel in _ESCAPES.items():
            text = text.replace(sentinel, escape)
    return text


def _json_container(text: str) -> Any:
    stripped = text.strip()
    if not stripped or stripped[0] not in "{[":
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    return value if isinstance(value, (dict, list)) else None


def _walk(value: Any, fn) -> Any:
    if isinstance(value, str):
        return fn(value)
    if isinstance(value, list):
        return [_walk(v, fn) for v in value]
    if isinstance(value, dict):
        return {k: _walk(v, fn) for k, v in value.items()}
    return value


def scrub_text(text: str, counts: Counter | None = None) -> str:
    """``text`` with personal data replaced by placeholders (see the module docstring).

    A JSON document (object or array) is scrubbed value by value - escaped characters such as
    ``\\u30bf`` are seen as what they are - and re-serialised compactly only if something
    changed, so valid JSON stays valid JSON.
    """
    if not text:
        return text
    counts = counts if counts is not None else Counter()
    document = _json_container(text)
    if document is not None:
        local: Counter = Counter()
        cleaned = _walk(document, lambda v: _scrub_plain(v, local))
        if not local:
            return text
        counts.update(local)
        return json.dumps(cleaned, ensure_ascii=False, separators=(",", ":"))
    return _scrub_plain(text, counts)


def scrub_messages(messages: list[dict[str, Any]], counts: Counter | None = None) -> list[dict[str, Any]]:
    """Chat messages with every ``content`` string scrubbed (roles and other keys unchanged)."""
    out = []
    for message in messages:
        copy = dict(message)
        if isinstance(copy.get("content"), str):
            copy["content"] = scrub_text(copy["content"], counts)
        out.append(copy)
    return out


def find_personal_data(text: str) -> list[tuple[str, str]]:
    """(kind, matched text) for everything :func:`scrub_text` would still replace.

    Used by the export's asset check: an exported message must yield an empty list.
    """
    document = _json_container(text)
    if document is not None:
        found: list[tuple[str, str]] = []
        _walk(document, lambda v: found.extend(_find_plain(v)) or v)
        return found
    return _find_plain(text)


def _find_plain(text: str) -> list[tuple[str, str]]:
    for escape, sentinel in _ESCAPES.items():
        text = text.replace(escape, sentinel)
    found: list[tuple[str, str]] = []
    counts: Counter = Counter()
    for kind, pattern, lo, hi in (
        ("email", _EMAIL, 0, 99),
        ("phone", _PHONE_INTL, 8, 15),
        ("phone", _PHONE_JP, 10, 11),
        ("phone", _PHONE_NANP, 10, 10),
        ("handle", _HANDLE, 0, 99),
    ):
        for match in pattern.finditer(text):
            digits = sum(ch.isdigit() for ch in match.group(0))
            if (lo or hi != 99) and not lo <= digits <= hi:
                continue
            found.append((kind, match.group(0)))
    for pattern in (_URL, _BARE_URL):
        for match in pattern.finditer(text):
            url, _ = _strip_url_tail(match.group(0))
            video = _youtube_video_url(url)
            if video is None or video != url:
                found.append(("url", url))
    if _scrub_viewers(text, counts) != text:
        found.append(("viewer", f"{counts['viewer']} name(s)"))
    japanese: Counter = Counter()
    scrub_full_names(scrub_japanese(text, japanese), japanese)
    found.extend((kind, f"{n} match(es)") for kind, n in sorted(japanese.items()))
    return found
