"""Benchmark 7: offline engine quality on the gold transcripts (precision / recall, no baseline).

Each gold transcript goes through the pipeline path, ``extract_recording_expressions(lines,
core.run_task)`` with an offline ``AICore``, and is scored with ``gold.precision_recall``.
``gold_stream.yaml`` is the set the engine was tuned on; ``gold_stream_heldout.yaml`` was
never used for tuning and is the honest estimate.
"""

from __future__ import annotations

from typing import Any

from .common import Row, dispose_engine, isolated_home, row, sqlite_url

NAME = "quality"
TITLE = "Offline engine precision/recall on the gold sets"
SIZES = {"full": {}, "quick": {}, "tiny": {}}


def run(sizes: dict[str, Any]) -> list[Row]:
    from aivlingual_assets.ai.core import AICore, AISettings
    from aivlingual_assets.analysis.gold import load_gold, precision_recall
    from aivlingual_assets.analysis.pipeline import extract_recording_expressions

    from .synthetic import gold_paths

    rows: list[Row] = []
    with isolated_home(NAME) as home:
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
