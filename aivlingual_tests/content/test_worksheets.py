"""Worksheets: a PDF whose extracted text holds every expression, furigana over kanji, answer key last."""

from __future__ import annotations

import json

import pytest
from pypdf import PdfReader

from aivlingual_assets.assets import content
from aivlingual_assets.publishing.clip_planner import ClipExpression
from aivlingual_assets.publishing.content_source import Source
from aivlingual_assets.publishing.worksheet_pdf import (
    ANSWER_KEY_HEADING,
    BLANK,
    plan_worksheet,
    render_worksheet,
    ruby_segments,
    worksheet_problems,
)

SOURCE = Source(recording="rec-1", title="【雑談】初見さん歓迎", channel="Sample Ch.", url="https://youtu.be/abc")


def expr(text, reading, meaning, start, level="N3"):
    return ClipExpression(expression=text, reading=reading, meaning=meaning, level=level, start=start, end=start + 1)


EXPRESSIONS = [expr("推し", "おし", "favourite member", 1.0, "slang"), expr("聞こえてる", "きこえてる", "can hear", 2.0),
               expr("配信", "はいしん", "stream", 3.0), expr("草", "くさ", "lol", 4.0, "slang"),
               expr("やばい", "やばい", "crazy", 5.0, "slang")]
EXAMPLES = {"推し": "推しを応援してくれるのはうれしい", "聞こえてる": "みんな聞こえてる？", "配信": "今日の配信は雑談です",
            "草": "コメント欄「草」ばっかり", "やばい": "え、やばい！"}


@pytest.mark.parametrize(("expression", "reading", "segments"), [
    ("推し", "おし", [("推", "お"), ("し", None)]),
    ("聞こえてる", "きこえてる", [("聞", "き"), ("こえてる", None)]),
    ("お知らせ", "おしらせ", [("お", None), ("知", "し"), ("らせ", None)]),
    ("凸待ち", "トツマチ", [("凸待", "とつま"), ("ち", None)]),  # katakana readings align as hiragana
    ("やばい", "やばい", [("やばい", None)]),  # nothing to put ruby over
    ("見れる", "みる", [("見れる", "みる")]),  # kana that do not line up (a dictionary-form reading): all on top
])
def test_furigana_sits_over_the_kanji_runs_only(expression, reading, segments):
    assert ruby_segments(expression, reading) == segments


def test_exercises_come_from_the_streams_own_lines_and_the_key_answers_them():
    sheet = plan_worksheet(SOURCE, EXPRESSIONS, EXAMPLES, date="2026-12-07")
    assert {item.answer for item in sheet.cloze} == set(EXAMPLES)
    for item in sheet.cloze:
        assert BLANK in item.prompt and item.prompt.replace(BLANK, item.answer, 1) == EXAMPLES[item.answer]
    for expression, letter in zip(sheet.match_expressions, sheet.match_answers()):
        assert sheet.match_meanings["ABCDEFGH".index(letter)] == expression.meaning
    assert {r.expression for r in sheet.reading} == {"推し", "聞こえてる", "配信", "草"}  # only those with kanji
    assert plan_worksheet(SOURCE, EXPRESSIONS, EXAMPLES, date="2026-12-07") == sheet  # deterministic


def test_rendered_pdf_extracts_every_expression_and_puts_the_answer_key_on_its_own_last_page(tmp_path):
    sheet = plan_worksheet(SOURCE, EXPRESSIONS, EXAMPLES, date="2026-12-07")
    report = render_worksheet(sheet, tmp_path / "w.pdf")
    pages = [p.extract_text() for p in PdfReader(report.path).pages]
    assert len(pages) == report.pages == report.answer_key_page == 3
    assert pages[-1].lstrip().startswith(ANSWER_KEY_HEADING)
    assert "【雑談】初見さん歓迎" in pages[0] and "https://youtu.be/abc" in pages[0] and "2026-12-07" in pages[0]
    assert all(e.expression in pages[0] for e in EXPRESSIONS)
    assert all("Sample Ch." in page for page in pages)  # the footer credits the channel on every page
    assert worksheet_problems(report.path, pages=3, answer_key_page=3, expressions=list(EXAMPLES),
                              channel="Sample Ch.") == []
    # the check notices what is wrong
    assert worksheet_problems(report.path, pages=4, answer_key_page=3, expressions=["推し", "同接"],
                              channel="Sample Ch.") != []
    (tmp_path / "broken.pdf").write_bytes(b"%PDF-1.7 not really")
    assert "does not open" in worksheet_problems(tmp_path / "broken.pdf", pages=1, answer_key_page=1,
                                                 expressions=[], channel="x")[0]


@pytest.mark.slow
def test_sample_worksheet_holds_all_its_expressions(sample):
    result = sample.materialize([content.worksheets])  # its check runs in its step
    assert result.success
    assert [(c.check_name, c.passed) for c in result.get_asset_check_evaluations()] == [("worksheet_complete", True)]
    row = sample.frames().read("worksheets", sample.key).iloc[0]
    expressions = sample.frames().read("difficulty", sample.key)["expression"]
    assert json.loads(row["expressions"]) == list(expressions)
    text = "".join("".join((p.extract_text() or "").split()) for p in PdfReader(row["path"]).pages)
    assert all("".join(e.split()) in text for e in expressions)
    assert row["cloze"] >= 5 and row["match"] >= 5 and row["reading"] >= 5


def test_the_process_summary_names_the_worksheet_pdf_and_the_thumbnails_folder():
    lines = content.summary_lines({
        "worksheets": {"pdf": "/home/w/rec.pdf", "pages": 4, "path": "/storage/worksheets/rec.parquet"},
        "thumbnails": {"rendered": 3, "folder": "/home/thumbnails/rec", "cleared_for_publishing": True},
        "upload_metadata": {"uploads": 4, "chapters": 5},
    })
    assert "worksheet: /home/w/rec.pdf (4 pages)" in lines
    assert "thumbnails: 3 Short(s) with cover and thumbnail in /home/thumbnails/rec" in lines
    assert not any("not cleared" in line for line in lines)
    assert content.summary_lines({"thumbnails": {"rendered": 0, "cleared_for_publishing": False}})[-1].startswith(
        "not cleared for publishing")


def test_characters_the_font_lacks_are_left_out_and_the_check_still_finds_the_expression(tmp_path, caplog):
    emoji = [expr("草🌱", "くさ", "lol 😂", 1.0, "slang"), expr("𠮷野家", "よしのや", "a restaurant chain", 2.0)]
    sheet = plan_worksheet(Source("r", "雑談🎉", "Ch.", None), emoji, {"草🌱": "草🌱生える"}, date="2026-12-07")
    report = render_worksheet(sheet, tmp_path / "emoji.pdf")
    assert "missing" not in caplog.text  # nothing was handed to the font that it cannot draw
    assert worksheet_problems(report.path, pages=report.pages, answer_key_page=report.answer_key_page,
                              expressions=["草🌱", "𠮷野家"], channel="Ch.") == []
    assert "草" in PdfReader(report.path).pages[0].extract_text()
