"""What the catalogue shows of the assets `aivlingual process` made: Dagster's standard keys (row count, columns,
owners, code versions) and where a recording came from, beside where its frame is stored."""

from __future__ import annotations

import pytest

from aivlingual_assets.analysis.tasks import ExtractExpressions, offline_engine_fingerprint

ASSET = """
query Asset($key: [String!]!) {
  assetNodeOrError(assetKey: {path: $key}) {
    ... on AssetNode {
      opVersion
      owners { ... on TeamAssetOwner { team } ... on UserAssetOwner { email } }
      assetMaterializations(limit: 1) {
        runId
        metadataEntries {
          label
          ... on PathMetadataEntry { path }
          ... on TextMetadataEntry { text }
          ... on IntMetadataEntry { intValue }
          ... on TableSchemaMetadataEntry { schema { columns { name type } } }
        }
      }
    }
  }
}
"""
RUN_TAGS = "query Run($id: ID!) { runOrError(runId: $id) { ... on Run { tags { key value } } } }"


def _asset(graphql, key: str) -> tuple[dict, dict]:
    node = graphql(ASSET, key=[key])["assetNodeOrError"]
    (materialization,) = node["assetMaterializations"]
    return node, materialization


def _entries(materialization: dict) -> dict[str, dict]:
    return {e["label"]: e for e in materialization["metadataEntries"]}


@pytest.mark.slow
def test_data_frame_assets_have_the_standard_row_count_and_column_schema(graphql):
    _, materialization = _asset(graphql, "expressions")
    entries = _entries(materialization)
    assert entries["dagster/row_count"]["intValue"] == entries["expressions"]["intValue"] > 0
    columns = {c["name"]: c["type"] for c in entries["dagster/column_schema"]["schema"]["columns"]}
    assert {"expression", "reading", "meaning", "category", "start"} <= set(columns)
    assert columns["start"] == "float64" and columns["expression"] == "string"


@pytest.mark.slow
def test_assets_have_owners_and_ai_assets_a_code_version_from_their_prompt_and_the_offline_engine(graphql):
    node, _ = _asset(graphql, "expressions")
    assert node["owners"] == [{"team": "aivlingual"}]
    assert node["opVersion"] == f"prompt-{ExtractExpressions.version}+engine-{offline_engine_fingerprint()[:12]}"


@pytest.mark.slow
def test_a_recordings_source_file_is_kept_beside_where_its_frame_is_stored_and_its_title_tags_the_run(
        graphql, processed_home):
    _, materialization = _asset(graphql, "recordings")
    entries = _entries(materialization)
    assert entries["subtitle_file"]["path"].endswith("stream.ja.srt")  # the recording's own file
    assert entries["path"]["path"].endswith(".parquet")  # the IO manager's: where the frame is stored
    assert entries["title"]["text"] == "stream"
    tags = {t["key"]: t["value"] for t in graphql(RUN_TAGS, id=materialization["runId"])["runOrError"]["tags"]}
    assert tags["aivlingual/title"] == "stream"


PLOTTED = ("IntMetadataEntry", "FloatMetadataEntry")  # the UI draws a plot for each numeric entry
TYPED = "query Asset($key: [String!]!) { assetNodeOrError(assetKey: {path: $key}) { ... on AssetNode { " \
        "assetMaterializations(limit: 1) { metadataEntries { __typename label ... on TextMetadataEntry { text } } } } } }"


@pytest.mark.slow
@pytest.mark.parametrize(("asset", "used"), [("transcripts", "none"),  # read from the subtitle file: no AI call
                                             ("expressions", "offline/"), ("shorts", "offline/")])
def test_an_ai_steps_plots_are_its_calls_hits_cost_and_counts_and_it_names_the_provider_it_used(graphql, asset, used):
    (materialization,) = graphql(TYPED, key=[asset])["assetNodeOrError"]["assetMaterializations"]
    entries = {e["label"]: e for e in materialization["metadataEntries"]}
    plotted = {label for label, e in entries.items() if e["__typename"] in PLOTTED}
    assert {"ai/api_calls", "ai/cache_hits", "ai/cost_usd"} <= plotted
    assert not plotted & {"ai/requests", "ai/failures", "ai/input_tokens", "ai/output_tokens", "ai/cache_hit_rate"}
    assert entries["ai/details"]["__typename"] == "JsonMetadataEntry"  # the rest, shown but not plotted
    assert entries["ai/providers"]["text"].startswith(used)  # what this materialisation actually used
