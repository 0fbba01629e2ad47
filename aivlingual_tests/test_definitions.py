"""The code location as Dagster's own tooling and the UI see it: it validates, and the graph tells the product's story."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

ROOT = Path(__file__).resolve().parents[1]

# asset -> what it is built from (the lineage the README's diagram draws)
LINEAGE = {
    "transcripts": {"recordings"},
    "expressions": {"transcripts", "recordings"},
    "difficulty": {"expressions", "transcripts"},
    "vocabulary": {"difficulty"},
    "notion_entries": {"vocabulary"},
    "anki_deck": {"vocabulary"},
}


def test_dagster_definitions_validate_passes(tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    dagster = Path(sys.executable).with_name("dagster")
    done = subprocess.run([str(dagster), "definitions", "validate", "-m", "aivlingual_assets"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "All code locations passed validation" in done.stdout + done.stderr


def test_asset_graph_has_the_pipeline_lineage_groups_and_descriptions():
    from aivlingual_assets import defs

    graph = defs.resolve_asset_graph()
    for key, parents in LINEAGE.items():
        node = graph.get(dg.AssetKey(key))
        assert {p.to_user_string() for p in node.parent_keys} >= parents, key
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert node.group_name != "default", f"{key.to_user_string()} has no group"
        assert node.description, f"{key.to_user_string()} has no description"
        assert node.kinds, f"{key.to_user_string()} has no kinds"
