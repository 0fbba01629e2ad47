"""AIVlingual: Japanese Vtuber streams into language-learning material, as a Dagster project."""

from .definitions import defs

__all__ = ["defs"]
