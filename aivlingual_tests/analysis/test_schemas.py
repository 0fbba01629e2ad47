import json

import pytest
from pydantic import ValidationError

from aivlingual_assets.analysis.schemas import (
    Category,
    Expression,
    ExpressionList,
    Level,
    LevelAssessment,
    LevelList,
    TranscriptLine,
)


def _expr(**kw):
    base = dict(
        expression="草", lemma="草", reading="くさ", meaning="lol", category="internet",
        explanation="grass = laughter", example="それは草", start=1.0, end=2.5,
    )
    base.update(kw)
    return Expression(**base)


def _walk(node, path="$"):
    if isinstance(node, dict):
        yield path, node
        for k, v in node.items():
            yield from _walk(v, f"{path}.{k}")
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _walk(v, f"{path}[{i}]")


@pytest.mark.parametrize("model", [ExpressionList, LevelList, TranscriptLine])
def test_json_schema_is_llm_friendly(model):
    schema = model.model_json_schema()
    for path, node in _walk(schema):
        for key in ("anyOf", "oneOf"):
            if key in node:  # only Optional[X] is allowed: X or null
                kinds = node[key]
                assert len(kinds) == 2 and {"type": "null"} in kinds, f"union at {path}"
        assert "allOf" not in node, path
    for name, definition in schema.get("$defs", {}).items():
        for field, prop in definition.get("properties", {}).items():
            if "$ref" not in prop:
                assert prop.get("description"), f"{name}.{field} has no description"
    json.dumps(schema)


def test_enums_are_plain_strings():
    assert [c.value for c in Category] == [
        "slang", "internet", "vtuber_culture", "cultural_reference", "grammar", "common_mistake", "vocabulary",
    ]
    assert [lvl.value for lvl in Level] == ["N5", "N4", "N3", "N2", "N1", "slang", "beyond_jlpt"]
    assert _expr().model_dump(mode="json")["category"] == "internet"


def test_expression_validation_and_key():
    e = _expr()
    assert e.category is Category.internet
    assert e.key == "草|くさ|internet"
    assert e.source_url is None
    with pytest.raises(ValidationError):
        _expr(start=5.0, end=1.0)
    with pytest.raises(ValidationError):
        _expr(category="meme")
    with pytest.raises(ValidationError):
        TranscriptLine(start=-1, end=2, text="x")


def test_level_assessment_score_bounds():
    ok = LevelAssessment(expression="x", lemma="x", reading="x", level="N3", score=0.5, method="m", reason="r")
    assert ok.level is Level.N3
    with pytest.raises(ValidationError):
        LevelAssessment(expression="x", lemma="x", reading="x", level="N3", score=1.5, method="m", reason="r")


def test_expression_list_round_trips_json():
    lst = ExpressionList(items=[_expr(), _expr(lemma="ｗ", expression="ｗ", reading="わら")])
    again = ExpressionList.model_validate_json(lst.model_dump_json())
    assert again == lst
