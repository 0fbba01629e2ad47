"""The Anki deck drops rows that leave the stock (issue 10: re-analysis replaces a recording's rows).

An Anki import only adds and updates notes, so a row that is gone from the stock is shipped as a
*retired* note under its old GUID: suspended, its meaning saying it was removed, tagged
``aivlingual::removed``.  A key that comes back is an ordinary note again.
"""

from __future__ import annotations

import sqlite3
import zipfile
from pathlib import Path

import genanki

from aivlingual_assets.publishing.anki_deck import RETIRED_TAG, DeckManifest
from aivlingual_assets.publishing.anki_export import export_deck
from aivlingual_tests.publishing.test_anki_deck import make_stock


def notes_and_queues(path: Path, workdir: Path) -> dict[str, tuple[str, str, int]]:
    """guid -> (first field, tags, card queue: -1 suspended, 0 new)."""
    with zipfile.ZipFile(path) as archive:
        name = next(n for n in ("collection.anki21", "collection.anki2") if n in archive.namelist())
        archive.extract(name, workdir)
    conn = sqlite3.connect(workdir / name)
    try:
        rows = conn.execute("SELECT n.guid, n.flds, n.tags, c.queue FROM notes n JOIN cards c ON c.nid = n.id").fetchall()
    finally:
        conn.close()
    return {guid: (fields.split("\x1f")[0], tags.strip(), queue) for guid, fields, tags, queue in rows}


def test_rows_that_leave_the_stock_are_retired_and_come_back_when_they_return(tmp_path):
    out = tmp_path / "exports" / "aivlingual.apkg"
    full = make_stock()  # oshi, kusa, taberu
    first = export_deck(full, out, None)
    assert (first.notes, first.retired) == (3, 0)

    reanalysed = full[full["key"] != "kusa"].reset_index(drop=True)
    second = export_deck(reanalysed, out, None)
    assert (second.notes, second.retired) == (2, 1)
    notes = notes_and_queues(out, tmp_path / "second")
    kusa = notes[genanki.guid_for("kusa")]
    assert kusa[0] == "草" and RETIRED_TAG in kusa[1].split() and kusa[2] == -1  # same note, suspended, tagged
    assert notes[genanki.guid_for("oshi")][2] == 0 and RETIRED_TAG not in notes[genanki.guid_for("oshi")][1]
    assert DeckManifest.load(out).retired == {"kusa": "草"}

    third = export_deck(reanalysed, out, None)  # still retired in later exports (a learner may import late)
    assert (third.notes, third.retired) == (2, 1)

    back = export_deck(full, out, None)
    assert (back.notes, back.retired) == (3, 0)
    notes = notes_and_queues(out, tmp_path / "back")
    assert notes[genanki.guid_for("kusa")][2] == 0 and RETIRED_TAG not in notes[genanki.guid_for("kusa")][1]
    assert DeckManifest.load(out).retired == {}


def test_an_unreadable_manifest_only_loses_the_retired_notes(tmp_path):
    out = tmp_path / "aivlingual.apkg"
    export_deck(make_stock(), out, None)
    DeckManifest.path_for(out).write_text("{not json", encoding="utf-8")
    report = export_deck(make_stock().iloc[:1], out, None)
    assert (report.notes, report.retired) == (1, 0)
