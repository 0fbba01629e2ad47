"""The scrubber's rules for Japanese personal data (see :mod:`.scrub` for the rest).

========================  =============================================  ==================
kind                      examples                                       placeholder
========================  =============================================  ==================
postal codes              〒150-0001, 〒 1500001, 郵便番号は150-0001,       ``[postal]``
                          150-0001 right before a prefecture
street addresses          東京都渋谷区神宮前1-2-3, 渋谷区神宮前1丁目2番3号,   ``[address]``
                          大阪市北区梅田3-1-1 グランドビル 1203号室
payment cards             4111 1111 1111 1111, 4111-1111-1111-1111       ``[card]``
                          (13-19 digits that pass the Luhn check)
My Number                 1234 5678 9018 (12 digits with a valid check   ``[mynumber]``
                          digit; any 12 digits after マイナンバー/個人番号)
messenger ids             LINE ID: taro_yamada, ラインのIDはtaro.y,        ``[id]`` (the label
                          Discord: taro#1234, カカオID hana0721           is kept)
full names with an        佐藤花子様, 鈴木一郎さん, 山田 太郎くん,             ``[name]`` (the
honorific                 高橋ハナコ殿, Taro Yamada様                     honorific is kept)
========================  =============================================  ==================

Choices, written down:

* A *full* name (a common family name followed by a given name) with an honorific is removed
  wherever it stands.  A single name with an honorific (田中さん, ぺこらさん, すいせいちゃん)
  is kept outside chat cues: in a stream it is nearly always the streamer, a collaborator or
  a character, and alone it does not identify a private person; next to a chat cue the viewer
  rules of :mod:`.scrub` remove it.  Full names without an honorific (織田信長, 坂本龍馬) are
  kept: in speech they are mostly historical or public figures.  Family names are matched
  from a list of the most common ones; a rarer family name is left to the export's
  independent check (:mod:`.personal_data_detector`), which then fails the export.
* An address needs a place (a prefecture, or a name ending in 市/区/町/村/郡) directly followed
  by a block number (1-2-3, 3丁目1番1号); a place alone (渋谷に行った) or a number alone is
  not an address.  The particle after it stays (…1-2-3に住んでる → [address]に住んでる).
* Long numbers are removed only when their check digit says they are a card or a My Number,
  so scores, view counts, prices and dates survive (a random 12-digit number passes the My
  Number check one time in eleven, and a 13-19 digit one the Luhn check one time in ten:
  such a number is removed too).
* Not covered: numbers spelled in kanji or words (〇九〇…, ゼロキューゼロ), a place without a
  block number, a name without an honorific.
"""

from __future__ import annotations

import re
from collections import Counter

from .check_digits import is_luhn_valid, is_my_number

__all__ = ["JA_PLACEHOLDERS", "scrub_full_names", "scrub_japanese"]

JA_PLACEHOLDERS = {
    "postal": "[postal]",
    "address": "[address]",
    "card": "[card]",
    "mynumber": "[mynumber]",
    "messenger": "[id]",
    "name": "[name]",
}

_D = "[0-9０-９]"
_DASH_CHARS = "\\-‐‑‒–—―−ｰー－"
_DASH = f"[{_DASH_CHARS}]"
_NO_DIGIT_BEFORE = r"(?<![0-9０-９A-Za-z])"
_NO_DIGIT_AFTER = r"(?![0-9０-９A-Za-z])"

# ---- postal codes --------------------------------------------------------------------------
_PREFECTURES = (
    "北海道", "青森県", "岩手県", "宮城県", "秋田県", "山形県", "福島県", "茨城県", "栃木県", "群馬県", "埼玉県",
    "千葉県", "東京都", "神奈川県", "新潟県", "富山県", "石川県", "福井県", "山梨県", "長野県", "岐阜県", "静岡県",
    "愛知県", "三重県", "滋賀県", "京都府", "大阪府", "兵庫県", "奈良県", "和歌山県", "鳥取県", "島根県", "岡山県",
    "広島県", "山口県", "徳島県", "香川県", "愛媛県", "高知県", "福岡県", "佐賀県", "長崎県", "熊本県", "大分県",
    "宮崎県", "鹿児島県", "沖縄県",
)
_PREFECTURE_RE = "|".join(_PREFECTURES)
_POSTAL = re.compile(
    rf"(?:[〒〶]\s?|郵便番号\s?(?:は|[:：])?\s?|postal code:?\s?|zip:?\s?){_D}{{3}}{_DASH}?{_D}{{4}}{_NO_DIGIT_AFTER}"
    rf"|{_NO_DIGIT_BEFORE}{_D}{{3}}{_DASH}{_D}{{4}}(?=\s?(?:{_PREFECTURE_RE}))",
    re.IGNORECASE,
)

# ---- street addresses ----------------------------------------------------------------------
_PLACE_CHAR = "[一-龥々〆ヶケァ-ヴー]"
_BLOCK = (  # 1-2-3, 3丁目1番1号, 2-10-5-301, 123番地の4: at least two numbers, or 番地
    rf"(?:{_D}{{1,4}}(?:丁目|{_DASH}){_D}{{1,4}}(?:(?:番地|番|号|{_DASH}|の){_D}{{1,4}})*(?:番地|番|号)?"
    rf"|{_D}{{1,4}}番地(?:の?{_D}{{1,4}})?)"
)
_PLACE_PART = rf"(?:{_PLACE_CHAR}|{_D}{{1,2}}条)"  # Sapporo's grid: 北1条西2丁目
_ROOM = rf"(?:\s?[A-Za-zァ-ヴー一-龥]{{1,20}}\s?{_D}{{1,4}}号室|\s?{_D}{{1,4}}号室)?"
_ADDRESS = re.compile(
    rf"(?:{_PREFECTURE_RE})?(?:{_PLACE_CHAR}{{1,10}}?[市区町村郡])+{_PLACE_PART}{{0,10}}{_BLOCK}{_ROOM}"
    rf"|(?:{_PREFECTURE_RE}){_PLACE_PART}{{1,12}}{_BLOCK}{_ROOM}"
)

# ---- cards and My Number -------------------------------------------------------------------
_GROUPED_NUMBER = re.compile(rf"{_NO_DIGIT_BEFORE}{_D}{{4}}(?:[\s{_DASH_CHARS}]?{_D}{{4,7}}){{1,4}}{_NO_DIGIT_AFTER}")
_MY_NUMBER_CUE = re.compile(rf"(?:マイナンバー|個人番号|my ?number)\s?(?:は|[:：])?\s?({_D}{{4}}[\s{_DASH_CHARS}]?"
                            rf"{_D}{{4}}[\s{_DASH_CHARS}]?{_D}{{4}}){_NO_DIGIT_AFTER}", re.IGNORECASE)
_FULLWIDTH = str.maketrans("０１２３４５６７８９", "0123456789")

# ---- messenger ids -------------------------------------------------------------------------
_MESSENGERS = (
    "LINE", "ＬＩＮＥ", "ライン", "Discord", "ディスコード", "ディスコ", "Skype", "スカイプ", "Kakao(?:Talk)?", "カカオ(?:トーク)?",
    "WeChat", "Telegram", "テレグラム", "Instagram", "インスタ(?:グラム)?", "TikTok", "Twitter", "ツイッター",
    "Steam", "PSN", "Switch", "フレンドコード", "friend code",
)
_MESSENGER = re.compile(
    rf"(?P<label>(?:{'|'.join(_MESSENGERS)}|line|discord|skype|steam)\s?(?:の\s?)?(?:ID|ＩＤ|id|Id|アイディー?|ユーザー名|ユーザ名|名前)?"
    rf"|(?<![A-Za-z])(?:ID|ＩＤ|ユーザー名))"
    rf"(?P<sep>\s?(?:は|[:：=＝]|って)\s?|\s)"
    r"(?P<id>@?[A-Za-z0-9_][A-Za-z0-9_.\-]{2,31}(?:#\d{4})?|(?:\d{4}[-\s]){2}\d{4})"
    r"(?![A-Za-z0-9_@])",
)
_NOT_IDS = {"ok", "okay", "yes", "no", "none", "なし", "the", "and", "for", "free", "live", "chat", "stream", "game"}

# ---- full names with an honorific ----------------------------------------------------------
# common Japanese family names (about 500, the most frequent by number of bearers first)
_FAMILY_NAMES = (
    "佐藤 鈴木 高橋 田中 伊藤 渡辺 渡邊 渡部 山本 中村 小林 加藤 吉田 山田 佐々木 山口 松本 井上 木村 林 斎藤 斉藤 清水 山崎 "
    "森 池田 橋本 阿部 石川 山下 中島 石井 小川 前田 岡田 長谷川 藤田 後藤 近藤 村上 遠藤 青木 坂本 斉藤 福田 太田 西村 "
    "藤井 金子 岡本 藤原 中野 三浦 原田 中川 松田 竹内 小野 田村 中山 和田 石田 森田 上田 原 内田 柴田 酒井 宮崎 横山 高木 "
    "安藤 宮本 大野 小島 谷口 今井 工藤 高田 増田 丸山 杉山 村田 大塚 新井 小山 平野 藤本 河野 上野 野口 武田 松井 千葉 "
    "岩崎 菅原 木下 久保 佐野 野村 松尾 市川 菊地 菊池 杉本 古川 大西 島田 水野 桜井 櫻井 高野 渡部 吉川 山内 西田 飯田 "
    "菅野 服部 川口 福島 辻 秋山 永井 松下 中西 北村 安田 五十嵐 川崎 関 本田 久保田 東 中田 岩田 荒木 平田 辻 田口 "
    "川上 大久保 須藤 松岡 黒田 熊谷 小松 内藤 浅野 大橋 松浦 小池 桑原 望月 吉村 片山 石原 岩本 堀 早川 平井 村井 "
    "土屋 今村 星野 西川 大石 荒井 川村 浅井 堀内 小田 松村 宮田 中沢 中澤 岡崎 大川 森本 野田 吉岡 榎本 広瀬 "
    "北川 坂口 本間 川島 関口 岡 田辺 小西 宮下 南 西山 岡村 伊東 山中 高山 堀口 樋口 大谷 小沢 小澤 新田 "
    "富田 野崎 松原 川原 石橋 大竹 尾崎 上原 宮内 篠原 相馬 森川 前川 吉野 北野 奥村 栗原 吉井 高井 "
    "竹田 竹中 内山 須田 飯島 西 浜田 濱田 片岡 宇野 杉浦 松永 大島 平山 米田 細川 江口 塚本 馬場 "
    "三宅 星 中尾 神田 大森 池上 福井 徳田 大平 水谷 小倉 矢野 白石 森山 島崎 上村 笠原 野中 広田 "
    "西岡 秋元 梅田 鎌田 赤松 木内 矢島 宮川 石塚 小森 岩井 堤 片桐 有田 河合 古田 守屋 吉原 亀井 稲垣 "
    "藤川 藤岡 藤村 藤野 藤沢 藤澤 古賀 小泉 小原 大木 大山 大場 大崎 大村 大沢 大澤 川田 川端 川本 菅沼 杉田 "
    "関根 高須 高畑 高松 高見 滝沢 滝澤 竹下 竹本 田島 田代 田上 田原 谷川 千田 塚田 土井 徳永 中井 中谷 中本 "
    "永田 永野 成田 西尾 西沢 西澤 西野 野上 野沢 野澤 萩原 橋口 長田 長尾 長野 浜口 浜野 林田 原口 日高 平岡 "
    "平川 福原 福本 藤森 古屋 堀田 本多 前原 牧野 真鍋 三上 三木 水口 水上 溝口 宮原 宮地 村山 茂木 森下 森口 "
    "八木 矢田 山岸 山根 山村 湯浅 横田 吉本 緒方 松澤 松沢 岸本 岸田 北原 木原 久野 倉田 黒川 黒木 河村 河田 "
    "河本 今野 紺野 坂井 坂田 坂上 桜田 佐久間 沢田 澤田 柴崎 島村 白井 白川 杉村 関谷 瀬戸 園田 高岡 高島 高村 "
    "竹村 立花 田川 田嶋 玉井 津田 角田 寺田 寺島 戸田 富永 豊田 中嶋 中原 中森 難波 西原 西本 野原 野本 橋爪 "
    "畑中 浜崎 早坂 半田 平松 深田 福永 藤木 細田 堀江 前島 町田 松川 松崎 松島 松山 三好 向井 村松 本山 安井 "
    "柳田 矢口 山川 山岡 山脇 結城 横井 吉永 米山 若林 和田 小笠原 大久保 宇佐美 長谷部 五味 奥田 奥山 尾上"
).split()
_FAMILY_RE = "|".join(sorted({n for n in _FAMILY_NAMES if len(n) >= 2}, key=len, reverse=True))
_GIVEN = r"(?:[一-龥々]{1,3}|[ぁ-ゖ]{2,4}|[ァ-ヴー]{2,5})"
_NAME_HONORIFIC = r"(?:様|さま|さん|殿|氏|くん|君|ちゃん|先生)"
_FULL_NAME = re.compile(
    rf"(?P<name>(?:{_FAMILY_RE})[\s　]?{_GIVEN}|[A-Z][a-z]{{1,15}} [A-Z][a-z]{{1,15}})\s?(?={_NAME_HONORIFIC})"
)
# words that stand where a given name would and are not one (田中先生さん is rare, 田中部長さん is not)
_NOT_GIVEN = {
    "先生", "社長", "部長", "課長", "係長", "店長", "先輩", "後輩", "選手", "監督", "会長", "教授", "博士", "氏", "家",
    "家族", "一家", "さん", "くん", "ちゃん", "さま", "兄", "姉", "弟", "妹", "父", "母", "様", "君", "達", "たち",
    "夫妻", "夫人", "氏ら", "殿", "組", "ママ", "パパ", "サン", "チャン", "クン", "市長", "知事", "議員", "大臣",
    "総理", "首相", "区長", "町長", "村長", "社員", "店員", "市民", "県民", "区民", "駅",
}


def _replace(pattern: re.Pattern, kind: str, text: str, counts: Counter, *, group: str | int = 0,
             keep=lambda m: False) -> str:
    def repl(match: re.Match) -> str:
        if keep(match):
            return match.group(0)
        counts[kind] += 1
        start, end = match.span(group)
        whole_start = match.start(0)
        return match.group(0)[: start - whole_start] + JA_PLACEHOLDERS[kind] + match.group(0)[end - whole_start :]

    return pattern.sub(repl, text)


def _digits(text: str) -> str:
    return "".join(ch for ch in text.translate(_FULLWIDTH) if ch.isdigit())


def _not_an_identifying_number(match: re.Match) -> bool:
    digits = _digits(match.group(0))
    return not ((13 <= len(digits) <= 19 and is_luhn_valid(digits)) or (len(digits) == 12 and is_my_number(digits)))


def _kind_of_number(match: re.Match) -> str:
    return "mynumber" if len(_digits(match.group(0))) == 12 and is_my_number(_digits(match.group(0))) else "card"


def _scrub_numbers(text: str, counts: Counter) -> str:
    text = _replace(_MY_NUMBER_CUE, "mynumber", text, counts, group=1)

    def repl(match: re.Match) -> str:
        if _not_an_identifying_number(match):
            return match.group(0)
        kind = _kind_of_number(match)
        counts[kind] += 1
        return JA_PLACEHOLDERS[kind]

    return _GROUPED_NUMBER.sub(repl, text)


_PREFECTURE_SEARCH = re.compile(_PREFECTURE_RE)


def _scrub_addresses(text: str, counts: Counter) -> str:
    """Addresses; a match that starts before its prefecture (住所東京都…) keeps what is before it."""

    def repl(match: re.Match) -> str:
        value = match.group(0)
        prefecture = _PREFECTURE_SEARCH.search(value)
        keep = value[: prefecture.start()] if prefecture else ""
        counts["address"] += 1
        return keep + JA_PLACEHOLDERS["address"]

    return _ADDRESS.sub(repl, text)


def _not_an_id(match: re.Match) -> bool:
    value = match.group("id").lstrip("@").lower()
    if value in _NOT_IDS or value.isdigit() and len(value) < 6:
        return True
    # "Steam sale", "Switch games": after a bare space only an id-looking word (digits, _ or .) counts
    return not match.group("sep").strip() and value.isalpha()


def _not_a_full_name(match: re.Match) -> bool:
    name = match.group("name")
    return any(name.endswith(word) for word in _NOT_GIVEN)


def scrub_japanese(text: str, counts: Counter) -> str:
    """``text`` with Japanese postal codes, addresses, card numbers, My Numbers and messenger ids
    replaced (see the module docstring); counts what was replaced by kind."""
    text = _replace(_POSTAL, "postal", text, counts)
    text = _scrub_addresses(text, counts)
    text = _scrub_numbers(text, counts)
    return _replace(_MESSENGER, "messenger", text, counts, group="id", keep=_not_an_id)


def scrub_full_names(text: str, counts: Counter) -> str:
    """``text`` with full names before an honorific replaced (after the viewer rules: a viewer stays [viewer])."""
    return _replace(_FULL_NAME, "name", text, counts, group="name", keep=_not_a_full_name)
