"""Benchmark 7: offline engine quality on the gold transcripts (no baseline).

Two kinds of gold:

* the invented stream transcripts (``gold_stream.yaml`` tuned on, ``gold_stream_heldout.yaml``
  held out) go through the pipeline path, ``extract_recording_expressions(lines, core.run_task)``
  with an offline ``AICore``: precision and recall per file;
* the real-speech sets (``aivlingual_tests/analysis/data/real``, sources in ``SOURCES.md``) go
  through the offline engine itself, ``offline_extractor.extract_expressions``: recall of the
  teacher's items, precision, sense accuracy and reading accuracy, pooled over the tuning files
  and, separately, over the held-out ones (``*_heldout.yaml``, never used for tuning).  Precision
  counts a file's ``acceptable`` and ``pooled`` items as right; the row's details also give
  precision before pooled judging (``acceptable`` lists written from the text alone; ``pooled``
  items were accepted later from the engine's output, see SOURCES.md) and the strict figure
  (teacher's gold list only).  Held-out rows carry counts only, never the items missed, so the
  figures can be read without seeing the held-out gold.
"""

from __future__ import annotations

from typing import Any

from .common import REPO_ROOT, Row, dispose_engine, isolated_home, row, sqlite_url

NAME = "quality"
TITLE = "Offline engine quality on the gold sets (stream gold; real-speech tuning and held-out sets)"
SIZES = {"full": {}, "quick": {}, "tiny": {}}
REAL_DIR = REPO_ROOT / "aivlingual_tests" / "analysis" / "data" / "real"
REAL_FIGURES = (("recall", "recall"), ("precision", "precision"), ("sense_accuracy", "sense accuracy"),
                ("reading_accuracy", "reading accuracy"))


def _stream_rows(home) -> list[Row]:
    from aivlingual_assets.ai.core import AICore, AISettings
    from aivlingual_assets.analysis.gold import load_gold, precision_recall
    from aivlingual_assets.analysis.pipeline import extract_recording_expressions

    from .synthetic import gold_paths

    rows: list[Row] = []
    url = sqlite_url(home)
    core = AICore(AISettings.from_env(database_url=url, home=home))
    try:
        for path in gold_paths():
            gold = load_gold(path)
            predicted = extract_recording_expressions(gold.lines, core.run_task)
            score = precision_recall(predicted, gold.gold, gold.acceptable)
            label = "tuning set" if "heldout" not in path.name else "held out"
            keys = ("tp", "fp", "fn", "acceptable_hits", "f1", "category_agreement", "missed")
            details = {k: score[k] for k in keys}
            details.update(file=path.name, lines=len(gold.lines), gold_items=len(gold.gold),
                           predicted=len(predicted))
            counts = (f"{path.name}: {len(gold.gold)} gold items, {len(predicted)} predicted; tp {score['tp']}, "
                      f"fp {score['fp']}, fn {score['fn']}; F1 {score['f1']:.3f}")
            rows.append(row(NAME, f"precision, {path.name} ({label})", score["precision"], "",
                            details=details, note=counts))
            rows.append(row(NAME, f"recall, {path.name} ({label})", score["recall"], ""))
    finally:
        dispose_engine(url)
    return rows


def real_speech_rows() -> list[Row]:
    """Recall, precision, sense and reading accuracy of the offline engine on the real-speech sets."""
    from aivlingual_assets.analysis.gold import score_gold_files
    from aivlingual_assets.analysis.offline_extractor import extract_expressions

    paths = sorted(REAL_DIR.glob("*.yaml"))
    if not paths:
        return [Row(NAME, "real speech", None, "", skipped=f"no gold files in {REAL_DIR}")]
    scores = score_gold_files(paths, extract_expressions)
    rows: list[Row] = []
    for subset, label in (("tuning", "tuning"), ("heldout", "held out")):
        files = [f for f in scores["files"] if f["subset"] == subset]
        s, strict, unpooled = scores[subset], scores[f"{subset}_strict"], scores[f"{subset}_unpooled"]
        details: dict[str, Any] = {
            k: s[k] for k in ("tp", "fp", "fn", "acceptable_hits", "sense_pairs", "reading_pairs", "f1")
        }
        details.update(unpooled_precision=unpooled["precision"], rejected_hits=s["rejected_hits"],
                       never_judged=s["fp"] - s["rejected_hits"], strict_precision=strict["precision"], strict_sense_accuracy=strict["sense_accuracy"],
                       strict_reading_accuracy=strict["reading_accuracy"],
                       seconds=round(sum(f["seconds"] for f in files), 2),
                       files=[{k: f[k] for k in ("file", "lines", "gold_items", "predicted")} for f in files])
        if subset == "tuning":  # never list held-out items
            details["missed"] = {f["file"]: f["score"]["missed"] for f in files}
            details["wrong_sense"] = {f["file"]: f["score"]["wrong_sense"] for f in files}
        details.update(misheard_items=s["misheard_items"], asr_error_spots=s["asr_error_spots"])
        if subset == "tuning":
            details["misheard"] = {f["file"]: f["score"]["misheard"] for f in files if f["score"]["misheard"]}
        note = (f"real speech, {label}: {len(files)} files, {sum(f['lines'] for f in files)} lines, "
                f"{s['tp'] + s['fn']} gold items; tp {s['tp']}, fp {s['fp']}, acceptable {s['acceptable_hits']}, "
                f"fn {s['fn']}; fp judged wrong {s['rejected_hits']}, never judged {s['fp'] - s['rejected_hits']}; "
                f"precision before pooled judging {unpooled['precision']:.3f}, strict {strict['precision']:.3f}; "
                f"{s['misheard_items']} items on {s['asr_error_spots']} speech-recognition errors")
        for i, (key, name) in enumerate(REAL_FIGURES):
            rows.append(row(NAME, f"{name}, real speech ({label})", s[key], "",
                            **({"details": details, "note": note} if i == 0 else {})))
    return rows


def run(sizes: dict[str, Any]) -> list[Row]:
    with isolated_home(NAME) as home:
        rows = _stream_rows(home)
    return rows + real_speech_rows()
