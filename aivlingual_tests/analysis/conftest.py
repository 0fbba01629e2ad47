"""Fixtures of the analysis tests: the gold transcripts shipped next to them."""

from __future__ import annotations

from pathlib import Path

import pytest

from aivlingual_assets.analysis.gold import GoldSet, load_gold

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="session")
def gold_stream() -> GoldSet:
    return load_gold(DATA / "gold_stream.yaml")


@pytest.fixture(scope="session")
def gold_stream_heldout() -> GoldSet:
    return load_gold(DATA / "gold_stream_heldout.yaml")
