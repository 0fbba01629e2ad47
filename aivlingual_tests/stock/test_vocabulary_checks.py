"""The stock's asset checks catch what they say they catch."""

from __future__ import annotations

import json

import pandas as pd

from aivlingual_assets.assets.analysis import vocabulary_keys_unique, vocabulary_rows_complete

OCCURRENCE = json.dumps([{"recording": "file-aaaaaaaaaaaa", "start": 1.0}])


def _stock(**overrides):
    rows = {"key": ["k1", "k2"], "expression": ["草", "推し"], "reading": ["くさ", "おし"], "meaning": ["lol", "fave"],
            "occurrences": [OCCURRENCE, OCCURRENCE]}
    rows.update(overrides)
    return pd.DataFrame(rows)


def test_a_complete_stock_passes_both_checks():
    assert vocabulary_rows_complete(vocabulary=_stock()).passed
    assert vocabulary_keys_unique(vocabulary=_stock()).passed


def test_rows_without_reading_meaning_or_occurrence_fail_and_are_named():
    for broken in ({"reading": ["くさ", " "]}, {"meaning": ["lol", None]}, {"occurrences": [OCCURRENCE, "[]"]}):
        result = vocabulary_rows_complete(vocabulary=_stock(**broken))
        assert not result.passed, broken
        assert result.metadata["incomplete_rows"].value == 1 and result.metadata["examples"].value == "推し"


def test_a_duplicated_key_fails():
    result = vocabulary_keys_unique(vocabulary=_stock(key=["k1", "k1"]))
    assert not result.passed and result.metadata["duplicate_keys"].value == 1
