"""The Anki deck export: stable ids, package contents, media, example audio."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import zipfile
from pathlib import Path

import genanki
import pandas as pd
import pytest

from aivlingual_assets.publishing.anki_deck import (
    DEFAULT_DECK_ID,
    FIELDS,
    MODEL_ID,
    DeckError,
    build_deck,
    cut_example_audio,
    deck_id_for,
    source_html,
    stable_anki_id,
)
from aivlingual_assets.publishing.clip_cutter import ClipError
from aivlingual_assets.publishing.media_check import ffmpeg_exe, probe_video


def make_stock() -> pd.DataFrame:
    occurrences = json.dumps(
        [
            {"recording": "rec1", "recording_title": "Minecraft <live>", "start": 61.5,
             "url": "https://www.youtube.com/watch?v=abc&t=61s"},
            {"recording": "rec2", "recording_title": "雑談", "start": 3725.0, "url": None},
        ],
        ensure_ascii=False,
    )
    base = {
        "category": "slang", "explanation": "Fan word for the member you support.", "count": 2,
        "first_seen": "2024-01-01", "last_seen": "2024-02-01", "variants": "[]", "occurrences": occurrences,
    }
    return pd.DataFrame(
        [
            {**base, "key": "oshi", "expression": "推し", "lemma": "推し", "reading": "おし",
             "meaning": "favourite member", "level": "N3", "level_score": 3.0,
             "example": "今日も推しが可愛い", "theme": "Minecraft Live"},
            {**base, "key": "kusa", "expression": "草", "lemma": "草", "reading": "くさ", "meaning": "lol",
             "level": "slang", "level_score": 4.5, "example": "マジで草", "theme": None, "category": "net slang"},
            {**base, "key": "taberu", "expression": "食べる", "lemma": "食べる", "reading": "たべる",
             "meaning": "to eat", "level": "N5", "level_score": 1.0, "example": float("nan"),
             "theme": "food", "occurrences": "not json"},
        ]
    )


@pytest.fixture(scope="module")
def recording(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("anki_media") / "stream.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x36:rate=10:duration=8",
         "-f", "lavfi", "-i", "sine=frequency=440:duration=8", "-c:v", "libx264", "-preset", "ultrafast",
         "-pix_fmt", "yuv420p", "-c:a", "aac", str(path)],
        check=True, timeout=60,
    )
    return path


@pytest.fixture(scope="module")
def example_audio(recording) -> Path:
    return cut_example_audio(recording, 2.0, 3.5, recording.parent / "audio" / "oshi.mp3")


def read_package(path: Path, workdir: Path):
    with zipfile.ZipFile(path) as archive:
        names = set(archive.namelist())
        collection = "collection.anki21" if "collection.anki21" in names else "collection.anki2"
        assert collection in names
        archive.extract(collection, workdir)
        media = json.loads(archive.read("media"))
        blobs = {name: archive.read(name) for name in media}
    conn = sqlite3.connect(workdir / collection)
    try:
        notes = conn.execute("SELECT guid, flds, tags, mid FROM notes ORDER BY id").fetchall()
        models, decks = conn.execute("SELECT models, decks FROM col").fetchone()
    finally:
        conn.close()
    return notes, json.loads(models), json.loads(decks), media, blobs


def test_cut_example_audio_is_a_padded_mp3(example_audio):
    info = probe_video(example_audio)
    assert info.has_audio and not info.has_video and info.audio_codec == "mp3"
    assert info.duration == pytest.approx(1.5 + 2 * 0.3, abs=0.15)
    assert [p.name for p in example_audio.parent.iterdir()] == ["oshi.mp3"]


def test_deck_has_expected_notes_fields_tags_and_media(tmp_path, example_audio):
    stock = make_stock()
    out = tmp_path / "deck.apkg"
    report = build_deck(stock, out_path=out, audio_for=lambda row: example_audio if row["key"] == "oshi" else None)
    assert (report.notes, report.media_files, report.skipped) == (3, 1, [])
    assert report.deck_id == DEFAULT_DECK_ID and report.model_id == MODEL_ID

    notes, models, decks, media, blobs = read_package(out, tmp_path)
    assert len(notes) == 3
    by_guid = {guid: (flds.split("\x1f"), tags.split(), mid) for guid, flds, tags, mid in notes}
    assert set(by_guid) == {genanki.guid_for(k) for k in ("oshi", "kusa", "taberu")}
    fields, tags, mid = by_guid[genanki.guid_for("oshi")]
    assert len(fields) == len(FIELDS) and mid == MODEL_ID
    record = dict(zip(FIELDS, fields))
    assert record["Expression"] == "推し" and record["Reading"] == "おし"
    assert record["Meaning"] == "favourite member" and record["Level"] == "JLPT N3"
    assert record["Example"] == "今日も<b>推し</b>が可愛い"
    assert 'href="https://www.youtube.com/watch?v=abc&amp;t=61s"' in record["Source"]
    assert "Minecraft &lt;live&gt; (1:01)" in record["Source"] and "雑談 (1:02:05)" in record["Source"]
    assert {"aivlingual", "level::N3", "category::slang", "theme::Minecraft_Live"} <= set(tags)

    # the audio is shipped as media and referenced by the note
    assert record["Audio"].startswith("[sound:aivlingual-") and record["Audio"].endswith(".mp3]")
    (index, name), = media.items()
    assert record["Audio"] == f"[sound:{name}]"
    assert blobs[index] == example_audio.read_bytes()

    kusa = dict(zip(FIELDS, by_guid[genanki.guid_for("kusa")][0]))
    assert kusa["Audio"] == "" and "category::net_slang" in by_guid[genanki.guid_for("kusa")][1]
    taberu = dict(zip(FIELDS, by_guid[genanki.guid_for("taberu")][0]))
    assert taberu["Example"] == "" and taberu["Source"] == ""  # NaN / malformed JSON tolerated

    assert str(MODEL_ID) in models and models[str(MODEL_ID)]["flds"][0]["name"] == "Expression"
    assert decks[str(DEFAULT_DECK_ID)]["name"] == "AIVlingual — Japanese from streams"


def test_rebuilding_keeps_note_guids_and_ids_stable(tmp_path):
    first = build_deck(make_stock(), out_path=tmp_path / "a.apkg", deck_name="Test deck")
    second = build_deck(make_stock().iloc[::-1], out_path=tmp_path / "b.apkg", deck_name="Test deck")
    (tmp_path / "ua").mkdir(), (tmp_path / "ub").mkdir()
    notes_a = read_package(tmp_path / "a.apkg", tmp_path / "ua")[0]
    notes_b = read_package(tmp_path / "b.apkg", tmp_path / "ub")[0]
    assert sorted(n[0] for n in notes_a) == sorted(n[0] for n in notes_b)
    assert first.deck_id == second.deck_id == deck_id_for("Test deck") != DEFAULT_DECK_ID
    assert stable_anki_id("x") == stable_anki_id("x") and (1 << 30) <= stable_anki_id("x") < (1 << 31)


def test_fixed_timestamp_gives_a_byte_identical_collection(tmp_path):
    for name in ("a", "b"):
        build_deck(make_stock(), out_path=tmp_path / f"{name}.apkg", timestamp=1_700_000_000.0)
    with zipfile.ZipFile(tmp_path / "a.apkg") as a, zipfile.ZipFile(tmp_path / "b.apkg") as b:
        assert a.read("collection.anki2") == b.read("collection.anki2")


def test_bad_stock_is_rejected(tmp_path):
    with pytest.raises(DeckError, match="duplicate"):
        build_deck(pd.concat([make_stock(), make_stock().head(1)]), out_path=tmp_path / "d.apkg")
    with pytest.raises(DeckError, match="missing column"):
        build_deck(make_stock().drop(columns=["key"]), out_path=tmp_path / "d.apkg")
    blank = make_stock()
    blank.loc[0, "key"] = " "
    with pytest.raises(DeckError, match="empty key"):
        build_deck(blank, out_path=tmp_path / "d.apkg")
    assert not list(tmp_path.glob("*d.*apkg"))  # nothing half-written either


def test_missing_audio_and_empty_expressions_are_reported(tmp_path):
    stock = make_stock()
    stock.loc[1, "expression"] = ""
    report = build_deck(stock, out_path=tmp_path / "d.apkg", audio_for=lambda row: tmp_path / "gone.mp3")
    assert report.notes == 2 and report.skipped == ["kusa: empty expression"]
    assert sorted(report.missing_audio) == ["oshi", "taberu"] and report.media_files == 0


def test_example_audio_errors(recording, tmp_path):
    with pytest.raises(ValueError, match="mp3"):
        cut_example_audio(recording, 1.0, 2.0, tmp_path / "a.wav")
    with pytest.raises(ValueError):
        cut_example_audio(recording, 2.0, 1.0, tmp_path / "a.mp3")
    mute = tmp_path / "mute.mp4"
    subprocess.run(
        [ffmpeg_exe(), "-v", "error", "-y", "-f", "lavfi", "-i", "testsrc=size=64x36:rate=10:duration=2",
         "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", str(mute)],
        check=True, timeout=60,
    )
    with pytest.raises(ClipError, match="no audio"):
        cut_example_audio(mute, 0.5, 1.0, tmp_path / "a.mp3")
    m4a = cut_example_audio(recording, 7.5, 7.9, tmp_path / "end.m4a")
    assert probe_video(m4a).duration == pytest.approx(0.7, abs=0.15)  # padding clamped at the end


def test_source_html_shows_latest_first_and_counts():
    occurrences = [{"recording_title": f"s{i}", "start": i, "url": None} for i in range(5)]
    html = source_html(occurrences, count=7)
    assert html.startswith("Heard 7× — s4 (0:04)") and "(+2 more)" in html
