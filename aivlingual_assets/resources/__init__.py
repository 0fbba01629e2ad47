"""Dagster resources of AIVlingual."""

from .ai_core import AICoreResource, ai_metadata

__all__ = ["AICoreResource", "ai_metadata"]
