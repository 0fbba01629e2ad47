"""The lineage the UI draws: the learning assets are made from the AI calls of the assets upstream, through the
usage ledger, so the graph shows where AI outputs and costs come from."""

from __future__ import annotations

import pytest

GRAPH = "{ assetNodes { assetKey { path } dependencyKeys { path } groupName isExecutable } }"


@pytest.mark.slow
def test_the_usage_ledger_connects_the_ai_using_assets_to_the_learning_group(graphql):
    nodes = {"/".join(n["assetKey"]["path"]): n for n in graphql(GRAPH)["assetNodes"]}
    upstream = {key: {"/".join(d["path"]) for d in node["dependencyKeys"]} for key, node in nodes.items()}
    ledger = nodes["ai_usage_ledger"]
    assert ledger["groupName"] == "learning" and not ledger["isExecutable"]  # written by the AI core, not a step
    assert {"transcripts", "expressions", "difficulty", "vocabulary", "shorts", "anki_deck"} <= upstream["ai_usage_ledger"]
    assert "recordings" not in upstream["ai_usage_ledger"]  # it makes no AI call
    for reader in ("ai_usage_report", "review_queue", "training_exports"):
        assert "ai_usage_ledger" in upstream[reader], reader
