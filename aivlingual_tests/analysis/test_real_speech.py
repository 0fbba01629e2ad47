"""Real-speech gold sets (issue 10): well formed, sourced, and the offline engine's floors.

``data/real/<name>.yaml`` are tuning sets; ``data/real/<name>_heldout.yaml`` are held out from
tuning (read only their scores, never their items).  Every file is an excerpt of an openly
licensed text written by others, recorded in ``data/real/SOURCES.md``; the gold lists are a
teacher's picks with the sense used in context.

The floors sit a little below the engine's figures on the day they were set (see the report
printed with ``pytest -s``); raise them as the engine improves, never lower them to pass.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from aivlingual_assets.analysis.gold import load_gold, score_gold_files, subset_of
from aivlingual_assets.analysis.lexicon import fold
from aivlingual_assets.analysis.offline_extractor import extract_expressions

REAL = Path(__file__).parent / "data" / "real"
SOURCES = REAL / "SOURCES.md"
FILES = sorted(REAL.glob("*.yaml"))

# subset -> figure -> floor, a little below the engine's figures when set (2026-12-08 ~02:00 UTC, after the
# fourth round of pooled judging: tuning recall .885 precision .870 sense .910 reading .970; held out recall
# .762 precision .869 sense .904 reading .969). Precision counts ``acceptable`` and ``pooled`` items as right.
FLOORS = {
    "tuning": {"recall": 0.86, "precision": 0.85, "sense_accuracy": 0.90, "reading_accuracy": 0.96},
    "heldout": {"recall": 0.74, "precision": 0.85, "sense_accuracy": 0.89, "reading_accuracy": 0.96},
}


def test_there_are_tuning_and_held_out_sets_from_three_sources():
    assert {subset_of(p) for p in FILES} == {"tuning", "heldout"}
    sources = {p.stem.removesuffix("_heldout") for p in FILES}
    assert len(sources) >= 3, sources


def test_a_third_of_the_real_speech_is_held_out():
    lines = {"tuning": 0, "heldout": 0}
    for path in FILES:
        lines[subset_of(path)] += len(load_gold(path).lines)
    assert lines["heldout"] * 3 >= lines["tuning"] + lines["heldout"], lines


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_the_sources_table_gives_each_files_counts(path: Path):
    gold = load_gold(path)
    rows = [line for line in SOURCES.read_text("utf-8").splitlines() if line.startswith(f"| `{path.name}` |")]
    assert len(rows) == 1, f"SOURCES.md needs one table row for {path.name}"
    counts = [int(cell) for cell in rows[0].strip("| ").split("|")[-5:]]
    assert counts == [len(gold.lines), len(gold.gold), len(gold.acceptable), len(gold.pooled), len(gold.rejected)]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_real_gold_file_is_well_formed_and_sourced(path: Path):
    gold = load_gold(path)
    assert gold.recording and gold.title
    assert len(gold.lines) >= 300
    assert all(a.start <= b.start for a, b in zip(gold.lines, gold.lines[1:])), "lines are in time order"
    assert path.name in SOURCES.read_text("utf-8"), f"{path.name} has no entry in SOURCES.md"
    texts = [fold(line.text) for line in gold.lines]
    seen: set[tuple[str, str]] = set()
    for g in gold.gold:
        said = [fold(k) for k in (g.expression, *g.variants, g.lemma) if k and fold(k)]
        assert any(k in t for k in said for t in texts), f"{g.lemma}: no line says {said}"
        assert g.reading and g.category and g.sense, f"{g.lemma}: reading, category and sense are required"
        key = (fold(g.lemma), fold(g.expression or g.lemma))
        assert key not in seen, f"{g.lemma} listed twice"
        seen.add(key)
    assert len(gold.gold) * 5 >= len(gold.lines), "fewer than one teacher item per five lines"
    for a in gold.acceptable:  # items a teacher would also accept: said in the text, never a gold item again
        said = [fold(k) for k in (a.expression, *a.variants, a.lemma) if k and fold(k)]
        assert any(k in t for k in said for t in texts), f"acceptable {a.lemma}: no line says {said}"
        assert (fold(a.lemma), fold(a.expression or a.lemma)) not in seen, f"acceptable {a.lemma} is also gold"
    listed = {k for item in (*gold.gold, *gold.acceptable) for k in item.keys()}
    for a in gold.pooled:  # accepted in pooled judging: said, judged in its own words, not listed before
        said = [fold(k) for k in (a.expression, *a.variants, a.lemma) if k and fold(k)]
        assert any(k in t for k in said for t in texts), f"pooled {a.lemma}: no line says {said}"
        assert a.sense and a.reading, f"pooled {a.lemma}: the teacher's sense keywords and reading are required"
        assert fold(a.lemma) not in listed, f"pooled {a.lemma} was already listed"
    for r in gold.rejected:
        assert 0 <= r.line < len(gold.lines) and r.reason, f"rejected {r.lemma}: line and reason are required"


@pytest.fixture(scope="module")
def engine_scores() -> dict[str, dict]:
    scores = score_gold_files(FILES, extract_expressions)
    for name in ("tuning", "heldout", "tuning_strict", "heldout_strict"):  # visible with ``pytest -s``
        s = scores[name]
        print(f"\n[real speech, {name}] recall {s['recall']:.3f} precision {s['precision']:.3f} "
              f"sense {s['sense_accuracy']:.3f} ({s['sense_pairs']} pairs) reading {s['reading_accuracy']:.3f} "
              f"({s['reading_pairs']} pairs); tp {s['tp']} fp {s['fp']} fn {s['fn']}")
    seconds = sum(f["seconds"] for f in scores["files"])
    print(f"[real speech] {len(FILES)} files analysed in {seconds:.1f} s")
    return scores


@pytest.mark.slow
@pytest.mark.parametrize("subset", ["tuning", "heldout"])
def test_offline_engine_meets_the_real_speech_floors(engine_scores, subset):
    score = engine_scores[subset]
    below = {k: (round(score[k], 3), floor) for k, floor in FLOORS[subset].items() if score[k] < floor}
    assert not below, f"{subset}: below the floor (figure, floor): {below}"
