"""The column-wise exact merge (:class:`ExactMerge`) gives what folding the table in one
row at a time with :func:`absorb` gives: the same records, the same stock rows (byte for
byte in the JSON columns), and the same near-duplicate merge."""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aivlingual_assets.analysis.ngram_embedding import ngram_vectors
from aivlingual_assets.analysis.stock import aggregate_expressions, merge_near_duplicates, stock_key
from aivlingual_assets.analysis.stock_columns import clean_text, frame_from_records, to_score, to_start
from aivlingual_assets.analysis.stock_exact import absorb, expression_records

AT = "2026-01-02T03:04:05+00:00"


def reference_records(table: pd.DataFrame, at: str, analyses: dict[str, str]) -> dict[str, dict[str, Any]]:
    """The exact merge spelt out: each row becomes a one-occurrence record and is absorbed
    into the record of its key (the first row of a key starts it)."""
    records: dict[str, dict[str, Any]] = {}
    for row in table.to_dict("records"):
        lemma = clean_text(row.get("lemma")) or clean_text(row.get("expression"))
        if not lemma:
            continue
        expression = clean_text(row.get("expression")) or lemma
        recording = clean_text(row.get("recording"))
        occurrence = {
            "recording": recording,
            "recording_title": clean_text(row.get("recording_title")),
            "start": to_start(row.get("start")),
            "end": to_start(row.get("end")),
            "url": clean_text(row.get("url")) or None,
        }
        if recording in analyses:
            occurrence["analysis"] = analyses[recording]
        record = {"key": stock_key(lemma, clean_text(row.get("reading"))), "expression": expression, "lemma": lemma}
        for field in ("reading", "meaning", "category", "level", "explanation", "example"):
            record[field] = clean_text(row.get(field))
        record.update(
            level_score=to_score(row.get("level_score")), theme="", occurrences=[occurrence], variants=[expression],
            alias_keys=[], first_seen={"recording": recording, "at": at}, last_seen={"recording": recording, "at": at},
        )  # fmt: skip
        if record["key"] in records:
            absorb(records[record["key"]], record)
        else:
            records[record["key"]] = record
    return records


def comparable(records: dict[str, dict[str, Any]]) -> list[tuple[str, dict[str, Any]]]:
    """Records in order, NaN scores as None (NaN never equals itself)."""
    out = []
    for key, rec in records.items():
        rec = dict(rec)
        if math.isnan(rec["level_score"]):
            rec["level_score"] = None
        out.append((key, rec))
    return out


# Few distinct values, so rows collide: the same key spelt several ways (可愛い / かわいい /
# カワイイ, with and without a reading), homophones (橋 / 箸), blanks, repeated occurrences.
LEMMAS = ["橋", "箸", "はし", "ハシ", "かわいい", "可愛い", "カワイイ", "草", "てぇてぇ", "", " ", None]
READINGS = ["はし", "かわいい", "くさ", "ハシ", "", None]
MEANINGS = ["bridge", "chopsticks", "cute", "cute, adorable", "lol", "", None]
STARTS = [0.0, 1.0, 1.0004, 2.5, None, float("nan"), 12.0]
TEXT_STARTS = [*STARTS, "12.5", "0:01", " 3 ", ""]

rows = st.fixed_dictionaries({
    "recording": st.sampled_from(["r1", "r2", "r3"]),
    "recording_title": st.sampled_from(["Title 1", "題名", "", None]),
    "expression": st.sampled_from(LEMMAS),
    "lemma": st.sampled_from(LEMMAS),
    "reading": st.sampled_from(READINGS),
    "meaning": st.sampled_from(MEANINGS),
    "category": st.sampled_from(["slang", "grammar", "", None]),
    "level": st.sampled_from(["N5", "N1", "", None]),
    "explanation": st.sampled_from(["why", "", None]),
    "example": st.sampled_from(["橋を渡る", "", None]),
    "url": st.sampled_from(["https://youtu.be/x?t=1", 'say "hi"\\', "", None]),
    "level_score": st.sampled_from([float("nan"), 1.0, 2.5, None]),
})  # fmt: skip


@st.composite
def tables(draw: st.DrawFn) -> tuple[pd.DataFrame, dict[str, str]]:
    items = draw(st.lists(rows, min_size=0, max_size=25))
    text_starts = draw(st.booleans())  # a column of numbers, or of numbers and text mixed
    starts = st.sampled_from(TEXT_STARTS if text_starts else STARTS)
    for item in items:
        item["start"], item["end"] = draw(starts), draw(starts)
    table = pd.DataFrame(items) if items else pd.DataFrame({"recording": [], "expression": []})
    if draw(st.booleans()) and len(table):  # past 2,000 rows the text columns stay in Arrow
        table = pd.concat([table] * (2_000 // len(table) + 1), ignore_index=True)
    analyses = draw(st.sampled_from([{}, {"r1": "v1"}, {"r1": "v1", "r3": "v9"}]))
    return table, analyses


SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@SETTINGS
@given(tables())
def test_exact_merge_gives_the_records_of_folding_row_by_row(case: tuple[pd.DataFrame, dict[str, str]]) -> None:
    table, analyses = case
    assert comparable(expression_records(table, AT, analyses)) == comparable(reference_records(table, AT, analyses))


@SETTINGS
@given(tables())
def test_exact_merge_writes_the_rows_of_the_per_record_encoder(case: tuple[pd.DataFrame, dict[str, str]]) -> None:
    table, _ = case
    expected = frame_from_records(reference_records(table, AT, {}).values())
    pd.testing.assert_frame_equal(aggregate_expressions(table, seen_at=AT), expected)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables())
def test_near_merge_of_a_table_equals_near_merge_of_its_exact_stock(case: tuple[pd.DataFrame, dict[str, str]]) -> None:
    """The expression-table path (column-wise) and the stock path (records) agree."""
    table, _ = case
    stock = frame_from_records(reference_records(table, AT, {}).values())
    pd.testing.assert_frame_equal(
        merge_near_duplicates(table, ngram_vectors, seen_at=AT), merge_near_duplicates(stock, ngram_vectors)
    )


def test_the_near_merge_embeds_only_rows_that_share_a_lemma_or_reading_with_another():
    """Only such rows can be merged (the rule needs a shared normalised lemma or reading), so
    only they are worth an embedding: with an AI provider, fewer texts paid for."""
    asked: list[str] = []

    def embed(texts: list[str]):
        asked.extend(texts)
        return ngram_vectors(texts)

    table = pd.DataFrame({
        "recording": ["r1"] * 5,
        "expression": ["可愛い", "かわいい", "橋", "草", "尊い"],
        "reading": ["かわいい", "かわいい", "はし", "くさ", "とうとい"],
        "meaning": ["cute", "cute", "bridge", "lol", "precious"],
    })  # fmt: skip
    merged = merge_near_duplicates(table, embed, seen_at=AT)
    assert sorted(asked) == sorted(["可愛い かわいい", "かわいい かわいい"])
    assert merged["expression"].tolist() == ["可愛い", "橋", "草", "尊い"]  # the kana spelling merged in
