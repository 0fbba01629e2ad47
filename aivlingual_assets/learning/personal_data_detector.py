"""An independent look for personal data in exported training text (the export's asset check).

The scrubber (:mod:`.scrub`) finds personal data with patterns; if the check after it used the
same patterns, it could never see what they miss.  This detector works differently on purpose:

* **Numbers by shape.**  The text is NFKC-normalised (full-width digits and symbols become
  ASCII), digit groups joined by single separators (``-`` ``.`` ``・`` space, brackets) are read as
  one number, and the number is judged by its digits and neighbours: a Japanese or
  international phone number (leading 0 and 10-11 digits, ``+`` and 8-15 digits, or a 3-3-4
  North American shape), a postal code (3-4 digits after 〒 or 郵便番号), a payment card (13-19
  digits that pass the Luhn check), a My Number (12 digits with a valid check digit, or any 12
  after マイナンバー/個人番号), or a street address (a block number such as 1-2-3 or 3丁目1番
  right after a word Sudachi tags as a place name, 地名).
* **Words by part of speech.**  Sudachi (the core dictionary) tags family names (人名・姓) and
  given names (人名・名): a family name followed by a given name and an honorific (様, さん,
  くん, ちゃん, 殿, 氏, 君, 先生) is a full name.  A single name with an honorific is not
  flagged (the scrubber's documented choice: in a stream it is the streamer, a collaborator
  or a character), nor a full name without one (historical and public figures).
* **Messenger ids** are found by walking tokens: a service word (LINE, Discord, カカオ, ...) or
  ``ID``, then a colon, は or の, then an id-looking run of ASCII characters.
* **E-mail addresses, URLs and @handles** are found by reading the characters around ``@``,
  ``://``, ``www.`` and ``domain.tld/``; links to a YouTube *video* in the canonical form the
  scrubber writes are allowed.

Viewer names read from chat ("タロウさんスパチャありがとう") are not within its reach; the
check re-applies the scrubber's own rules for those.  Placeholders ([phone], [name], ...)
never count.
"""

from __future__ import annotations

import json
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Iterator

from ..analysis.tokenizer import Token, tokenize
from .check_digits import is_luhn_valid, is_my_number

__all__ = ["Finding", "detect_personal_data"]


@dataclass(frozen=True)
class Finding:
    """One piece of personal data: its kind and where it was seen (a short excerpt of the text)."""

    kind: str
    excerpt: str


_SEPARATORS = set("-.・･ ()/\u30fc\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
_HONORIFICS = {"様", "さま", "さん", "殿", "氏", "くん", "君", "ちゃん", "先生", "サマ", "クン", "チャン"}
_SERVICES = {
    "line", "ライン", "discord", "ディスコード", "ディスコ", "skype", "スカイプ", "kakao", "kakaotalk", "カカオ",
    "カカオトーク", "wechat", "telegram", "テレグラム", "instagram", "インスタ", "インスタグラム", "tiktok",
    "twitter", "ツイッター", "steam", "psn", "switch", "フレンドコード", "フレンド",
}
_ID_WORDS = {"id", "アイディー", "アイディ", "ユーザー名", "ユーザ名", "名前", "コード"}
_NOT_IDS = {"ok", "okay", "yes", "no", "none", "the", "and", "for", "free", "live", "chat", "stream", "game"}
_ID_CHARS = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-#@")
_EMAIL_LOCAL = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._%+-")
_DOMAIN = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-")
_URL_STOP = set(" \t\n\"'<>「」『』、。，（）()[]{}")
_CANONICAL_VIDEO = re.compile(r"https://www\.youtube\.com/watch\?v=[A-Za-z0-9_-]{11}(?:&t=[0-9hms]+)?")
_MAX_LINE = 2_000  # longer lines are read in pieces of this size


# --------------------------------------------------------------------------------- numbers


@dataclass(frozen=True)
class _Number:
    groups: tuple[str, ...]
    separators: str  # the characters between the groups
    begin: int
    end: int

    @property
    def digits(self) -> str:
        return "".join(self.groups)


def _numbers(text: str) -> Iterator[_Number]:
    """Digit groups joined by single separator characters, read as one number each."""
    i, n = 0, len(text)
    while i < n:
        glued = i > 0 and (text[i - 1].isdigit() or text[i - 1].isascii() and text[i - 1].isalpha())
        if not text[i].isdigit() or glued:
            i += 1
            continue
        begin, groups, separators = i, [], ""
        while True:
            j = i
            while j < n and text[j].isdigit():
                j += 1
            groups.append(text[i:j])
            if j + 1 < n and text[j] in _SEPARATORS and text[j + 1].isdigit():
                separators += text[j]
                i = j + 1
                continue
            if j + 2 < n and text[j] in " )" and text[j + 1] in _SEPARATORS and text[j + 2].isdigit():
                separators += text[j : j + 2]
                i = j + 2  # "(03) 1234", "03 - 1234"
                continue
            break
        i = j
        if j < n and text[j].isascii() and text[j].isalpha():
            continue  # glued to letters: a code or a unit, not a number on its own
        yield _Number(tuple(groups), separators, begin, j)


def _context(text: str, begin: int, size: int = 8) -> str:
    return text[max(0, begin - size) : begin]


def _number_kind(text: str, number: _Number, places: set[int]) -> str | None:
    digits, groups, before = number.digits, number.groups, _context(text, number.begin)
    after = text[number.end : number.end + 3]
    if "〒" in before[-3:] or "郵便番号" in before or "postal" in before.lower():
        if len(digits) == 7:
            return "postal"
    if ("マイナンバー" in before or "個人番号" in before) and len(digits) == 12:
        return "mynumber"
    # cards and My Numbers are written in groups of 4 (Amex 4-6-5) with spaces or hyphens: not a
    # transcript time range such as 10234.56-10240.12
    card_shape = set(number.separators) <= {" ", "-"} and (len(groups) == 1 or min(map(len, groups)) >= 4)
    if len(digits) == 12 and is_my_number(digits) and card_shape and len(groups) in (1, 3):
        return "mynumber"
    if 13 <= len(digits) <= 19 and is_luhn_valid(digits) and card_shape:
        return "card"
    if before.endswith(("+", "+ ")) and 8 <= len(digits) <= 15:
        return "phone"
    if digits.startswith("0") and 10 <= len(digits) <= 11 and (len(groups) == 1 or 2 <= len(groups) <= 4):
        return "phone"
    if len(digits) == 10 and [len(g) for g in groups] == [3, 3, 4] and not digits.startswith(("0", "1")):
        return "phone"
    if number.begin in places and (len(groups) >= 2 or after.startswith(("丁目", "番地"))):
        if all(len(g) <= 4 for g in groups):
            return "address"
    return None


# --------------------------------------------------------------------------------- tokens


def _is_family_name(token: Token) -> bool:
    return token.pos[:4] == ("名詞", "固有名詞", "人名", "姓")


def _is_given_name(token: Token) -> bool:
    return token.pos[:4] == ("名詞", "固有名詞", "人名", "名")


def _is_place(token: Token) -> bool:
    return token.pos[:3] == ("名詞", "固有名詞", "地名") or (
        token.surface[-1:] in "都道府県市区町村郡" and token.pos[0] in ("名詞", "接尾辞") and len(token.surface) >= 2)


_ZONE_TOKENS = 12  # how far after a place name its block number may stand (北1条西2丁目3番地)


def _address_zones(tokens: list[Token]) -> set[int]:
    """Offsets of the tokens that continue a place name without a break (nouns, numbers, counters,
    dashes; not particles or spaces): a number starting at one of them is a block number."""
    zone: set[int] = set()
    for index, token in enumerate(tokens):
        if not _is_place(token):
            continue
        for following in tokens[index + 1 : index + 1 + _ZONE_TOKENS]:
            if following.pos[0] in ("名詞", "接尾辞") or following.surface in ("-", "‐", "−", "－", "ー"):
                zone.add(following.begin)
            else:
                break
    return zone


def _significant(tokens: list[Token], start: int) -> int:
    """Index of the next token that is not white space."""
    while start < len(tokens) and tokens[start].pos[0] == "空白":
        start += 1
    return start


def _full_names(text: str, tokens: list[Token]) -> Iterator[Finding]:
    for i, token in enumerate(tokens):
        if not _is_family_name(token):
            continue
        j = _significant(tokens, i + 1)
        if j < len(tokens) and _is_given_name(tokens[j]):
            k = _significant(tokens, j + 1)
            if k < len(tokens) and tokens[k].surface in _HONORIFICS:
                yield Finding("name", text[token.begin : tokens[k].end])
    # romanised full names: "Taro Yamada様"
    for match in re.finditer(r"\b[A-Z][a-z]+ [A-Z][a-z]+ ?(?=様|さん|くん|ちゃん|殿|氏)", text):
        yield Finding("name", match.group(0))


def _messenger_ids(text: str, tokens: list[Token]) -> Iterator[Finding]:
    reported: set[int] = set()  # where the ids seen end ("LINE ID: x" is one id, not two)
    for i, token in enumerate(tokens):
        word = token.surface.casefold()
        if word not in _SERVICES and word not in _ID_WORDS:
            continue
        if word in _ID_WORDS and word != "id" and (i == 0 or tokens[i - 1].surface.casefold() not in _SERVICES):
            continue
        j = i + 1
        spaced_only = True
        while j < len(tokens) and (tokens[j].pos[0] in ("空白", "補助記号") and tokens[j].surface in " 　:：=＝"
                                   or tokens[j].surface in ("は", "の", "って")
                                   or tokens[j].surface.casefold() in _ID_WORDS):
            if tokens[j].surface in (":", "：", "=", "＝", "は", "の", "って"):
                spaced_only = False  # "LINE ID: taro" names an id; "Steam sale" does not
            j += 1
        if j == i + 1 and j < len(tokens) and tokens[j].begin == token.end:
            continue  # glued to the service word ("LINEで"): no id follows
        start = tokens[j].begin if j < len(tokens) else len(text)
        end = start
        while end < len(text) and text[end] in _ID_CHARS:
            end += 1
        value = text[start:end].strip(".-").lstrip("@")
        if len(value) < 3 or value.casefold() in _NOT_IDS:
            continue
        if value.isdigit() and len(value) < 6 or spaced_only and value.isalpha() or end in reported:
            continue
        reported.add(end)
        yield Finding("messenger", text[token.begin : end])


# --------------------------------------------------------------------------------- characters


def _emails_and_handles(text: str) -> Iterator[Finding]:
    for at, char in enumerate(text):
        if char != "@":
            continue
        start = at
        while start > 0 and text[start - 1] in _EMAIL_LOCAL:
            start -= 1
        end = at + 1
        while end < len(text) and text[end] in _DOMAIN:
            end += 1
        labels = text[at + 1 : end].strip(".-").split(".")
        if start < at and len(labels) >= 2 and all(labels) and labels[-1].isalpha() and len(labels[-1]) >= 2:
            yield Finding("email", text[start:end])
            continue
        if start < at:
            continue  # "name@" without a domain: not an address, and not a handle either
        stop = at + 1  # a handle: "@" and a name (letters of any script, digits, _ . - ・)
        while stop < len(text) and (text[stop].isalnum() or text[stop] in "_.-・"):
            stop += 1
        if stop > at + 1:
            yield Finding("handle", text[at:stop])


def _urls(text: str) -> Iterator[Finding]:
    spans: list[tuple[int, int]] = []
    for marker in ("://", "www."):
        position = text.find(marker)
        while position != -1:
            start = position
            while start > 0 and text[start - 1].isascii() and text[start - 1].isalpha():
                start -= 1
            end = position
            while end < len(text) and text[end] not in _URL_STOP and text[end].isascii():
                end += 1
            if not any(s <= position < e for s, e in spans):
                spans.append((start, end))
                url = text[start:end].rstrip(".,;:!?")
                if not _CANONICAL_VIDEO.fullmatch(url):
                    yield Finding("url", url)
            position = text.find(marker, end)
    # scheme-less "domain.tld/path"
    for word in re.split(r"[^\x21-\x7e]+", text):
        head, slash, _ = word.partition("/")
        if slash and "." in head and "://" not in word and not word.startswith(("www.", "/")):
            tld = head.rsplit(".", 1)[-1]
            if tld.isalpha() and 2 <= len(tld) <= 6 and head.split(".")[0] and "@" not in head:
                yield Finding("url", word)


# --------------------------------------------------------------------------------- entry


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)


def _plain_texts(text: str) -> Iterator[str]:
    stripped = text.strip()
    if stripped[:1] in ("{", "["):
        try:
            yield from _strings(json.loads(stripped))
            return
        except ValueError:
            pass
    yield text


def _detect_plain(text: str) -> list[Finding]:
    text = unicodedata.normalize("NFKC", text)
    findings: list[Finding] = list(_emails_and_handles(text)) + list(_urls(text))
    tokens = tokenize(text)
    places = _address_zones(tokens)
    for number in _numbers(text):
        kind = _number_kind(text, number, places)
        if kind is not None:
            findings.append(Finding(kind, text[number.begin : number.end]))
    findings += _full_names(text, tokens)
    findings += _messenger_ids(text, tokens)
    return findings


def detect_personal_data(text: str) -> list[Finding]:
    """Every piece of personal data this detector sees in ``text`` (a JSON document: in its strings)."""
    if not text:
        return []
    findings: list[Finding] = []
    for plain in _plain_texts(text):
        # line by line: personal data does not cross a line, and the tokenizer's cache holds lines
        # (a whole prompt per entry would grow it by megabytes per example)
        for line in plain.splitlines():
            for start in range(0, len(line), _MAX_LINE):
                findings += _detect_plain(line[start : start + _MAX_LINE])
    return findings
