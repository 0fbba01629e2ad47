"""Parquet files of DataFrames, addressed by asset and partition, on any UPath (local, s3://, gs://)."""

from __future__ import annotations

import io
import uuid
from collections.abc import Iterable

import pandas as pd
from upath import UPath


class FrameStore:
    """``<base>/<asset>/<partition>.parquet`` (``<base>/<asset>.parquet`` when unpartitioned)."""

    def __init__(self, base: str | UPath, **storage_options):
        self.base = base if isinstance(base, UPath) else UPath(str(base), **storage_options)

    def path(self, asset: str, partition: str | None = None) -> UPath:
        return self.base / asset / f"{partition}.parquet" if partition else self.base / f"{asset}.parquet"

    def write(self, frame: pd.DataFrame, asset: str, partition: str | None = None) -> UPath:
        return write_parquet(frame, self.path(asset, partition))

    def read(self, asset: str, partition: str | None = None) -> pd.DataFrame:
        return read_parquet(self.path(asset, partition))

    def exists(self, asset: str, partition: str | None = None) -> bool:
        return self.path(asset, partition).exists()

    def partitions(self, asset: str) -> list[str]:
        folder = self.base / asset
        if not folder.exists():
            return []
        return sorted(p.name[: -len(".parquet")] for p in folder.iterdir() if p.name.endswith(".parquet"))

    def read_many(self, asset: str, partitions: Iterable[str]) -> dict[str, pd.DataFrame]:
        return {p: self.read(asset, p) for p in partitions if self.exists(asset, p)}


def write_parquet(frame: pd.DataFrame, path: UPath) -> UPath:
    """Writes whole or not at all: a temp object renamed into place (a single PUT on object stores)."""
    buffer = io.BytesIO()
    frame.to_parquet(buffer, index=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.protocol in ("", "file", "local"):
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        tmp.write_bytes(buffer.getvalue())
        tmp.rename(path)
    else:
        path.write_bytes(buffer.getvalue())
    return path


def read_parquet(path: UPath) -> pd.DataFrame:
    with path.open("rb") as fh:
        return pd.read_parquet(io.BytesIO(fh.read()))
