"""Shared data shapes of the analysis stage (pydantic v2).

These models double as the structured-output schemas that LLM providers fill,
so they stay JSON-schema friendly: plain scalar fields, ``str`` enums, no
unions other than ``Optional``, and a description on every field (the
description is what the model reads).
"""

from __future__ import annotations

from enum import Enum
from typing import Optional

from pydantic import BaseModel, ConfigDict, Field, model_validator

__all__ = [
    "Category",
    "Level",
    "TranscriptLine",
    "Expression",
    "ExpressionList",
    "LevelAssessment",
    "LevelList",
    "LEVEL_ORDER",
]


class Category(str, Enum):
    """What kind of learning item an expression is."""

    slang = "slang"
    internet = "internet"
    vtuber_culture = "vtuber_culture"
    cultural_reference = "cultural_reference"
    grammar = "grammar"
    common_mistake = "common_mistake"
    vocabulary = "vocabulary"


class Level(str, Enum):
    """JLPT-style difficulty; ``slang`` and ``beyond_jlpt`` sit outside the N5..N1 scale."""

    N5 = "N5"
    N4 = "N4"
    N3 = "N3"
    N2 = "N2"
    N1 = "N1"
    slang = "slang"
    beyond_jlpt = "beyond_jlpt"


# Easiest first; handy for sorting and "at least N3" filters.
LEVEL_ORDER: dict[Level, int] = {
    Level.N5: 0,
    Level.N4: 1,
    Level.N3: 2,
    Level.N2: 3,
    Level.N1: 4,
    Level.beyond_jlpt: 5,
    Level.slang: 6,
}


class _Model(BaseModel):
    model_config = ConfigDict(use_enum_values=False)  # keep text verbatim (examples are quotes)


class TranscriptLine(_Model):
    """One timed line of a stream transcript (input of extraction)."""

    start: float = Field(ge=0, description="Start of the line in seconds from the beginning of the recording.")
    end: float = Field(ge=0, description="End of the line in seconds from the beginning of the recording.")
    text: str = Field(description="What was said, in Japanese, as transcribed.")

    @model_validator(mode="after")
    def _ordered(self) -> "TranscriptLine":
        if self.end < self.start:
            raise ValueError(f"line ends ({self.end}) before it starts ({self.start})")
        return self


class Expression(_Model):
    """One thing worth learning, anchored to the line of the stream where it was said."""

    expression: str = Field(description="The expression exactly as it was said in the line (may be conjugated).")
    lemma: str = Field(description="Dictionary form (for grammar: the pattern, e.g. '〜てしまう').")
    reading: str = Field(description="Reading of the lemma in kana: hiragana for native words, katakana for loanwords.")
    meaning: str = Field(description="Short English meaning, in the sense used in this line.")
    category: Category = Field(description="Kind of learning item.")
    explanation: str = Field(description="One or two English sentences a learner needs: nuance, usage, or the correct form.")
    example: str = Field(description="The transcript line in which the expression was said, verbatim.")
    start: float = Field(ge=0, description="Start time in seconds of the example line.")
    end: float = Field(ge=0, description="End time in seconds of the example line.")
    source_url: Optional[str] = Field(
        default=None,
        description="Link to this moment of the recording; filled by the pipeline, leave null.",
    )

    @model_validator(mode="after")
    def _ordered(self) -> "Expression":
        if self.end < self.start:
            raise ValueError(f"expression ends ({self.end}) before it starts ({self.start})")
        return self

    @property
    def key(self) -> str:
        """Identity within a recording: the same word in the same role is one item. A grammar
        pattern (or a kind of mistake) is one item whatever word it was said with (its reading is
        the words as said)."""
        reading = "" if self.category in (Category.grammar, Category.common_mistake) else self.reading
        return f"{self.lemma}|{reading}|{self.category.value}"


class ExpressionList(_Model):
    """The expressions found in one chunk of transcript (LLM output schema)."""

    items: list[Expression] = Field(default_factory=list, description="Expressions found, in order of appearance.")


class LevelAssessment(_Model):
    """How hard one expression is for a learner, and how sure we are."""

    expression: str = Field(description="The expression being assessed (its key in the batch).")
    lemma: str = Field(description="Dictionary form of the expression.")
    reading: str = Field(description="Reading of the lemma in kana.")
    level: Level = Field(description="JLPT level N5 (easiest) to N1, 'slang' for informal/internet language, 'beyond_jlpt' for rarer words.")
    score: float = Field(ge=0.0, le=1.0, description="Confidence in the level, from 0 (guess) to 1 (certain).")
    method: str = Field(description="How the level was decided, e.g. 'offline:jmdict-priority' or 'llm:<model>'.")
    reason: str = Field(description="One short English sentence justifying the level.")


class LevelList(_Model):
    """Levels for a batch of expressions (LLM output schema)."""

    items: list[LevelAssessment] = Field(default_factory=list, description="One assessment per expression.")
