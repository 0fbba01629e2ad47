"""Typed AI tasks: input, output schema, prompt and offline implementation in one place.

A task's prompt and ``version`` enter the cache key, so changing either is a cache
miss and nothing else is. The offline engine is the one exception: its answers come
from our own code and data, so ``offline_fingerprint()`` also enters the key of the
offline candidate (and of no language model). Tasks register their tier so auto
selection can follow the request type.
"""

from __future__ import annotations

from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel

from .routing import REQUEST_TYPE_TIERS

InT = TypeVar("InT")
OutT = TypeVar("OutT", bound=BaseModel)


class AITask(Generic[InT, OutT]):
    request_type: ClassVar[str]
    version: ClassVar[str]
    output_schema: ClassVar[type[BaseModel]]
    system: ClassVar[str] = ""
    tier: ClassVar[str] = "cheap"

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if getattr(cls, "request_type", None):
            REQUEST_TYPE_TIERS[cls.request_type] = cls.tier

    def prompt(self, task_input: InT) -> str:
        raise NotImplementedError

    def offline(self, task_input: InT) -> OutT:
        raise NotImplementedError

    def offline_fingerprint(self) -> str:
        """Changes whenever ``offline`` could answer differently (code, data, dictionaries); "" for none."""
        return ""
