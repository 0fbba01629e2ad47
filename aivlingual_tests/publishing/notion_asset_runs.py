"""Materialising ``notion_entries`` alone, on a small stock, against a fake Notion server (shared by tests)."""

from __future__ import annotations

import json

import dagster as dg
import pandas as pd

from aivlingual_assets.assets.publishing import notion_entries
from aivlingual_assets.resources.notion import NotionResource
from aivlingual_assets.resources.pipeline import PipelineResource

STOCK = pd.DataFrame([{
    "key": f"k{i:015d}", "expression": f"推し{i}", "reading": "おし", "meaning": "favourite",
    "category": "vtuber_culture", "level": "slang", "example": f"推し{i}が尊い", "count": 1,
    "occurrences": json.dumps([{"recording_title": "sample", "url": "https://www.youtube.com/watch?v=dQw4w9WgXcQ"}]),
} for i in range(3)])


class StockIO(dg.IOManager):
    """Hands the asset :data:`STOCK` as its ``vocabulary`` input."""

    def handle_output(self, context, obj) -> None:  # pragma: no cover - a source asset is never written
        raise NotImplementedError

    def load_input(self, context) -> pd.DataFrame:
        return STOCK


def materialize_notion_entries(notion: NotionResource, **kwargs) -> dg.ExecuteInProcessResult:
    return dg.materialize(
        [notion_entries, dg.SourceAsset("vocabulary", io_manager_key="stock_io")],
        resources={"notion": notion, "pipeline": PipelineResource(), "stock_io": StockIO(),
                   "parquet_io_manager": dg.mem_io_manager},
        raise_on_error=False, selection=[notion_entries], **kwargs)
