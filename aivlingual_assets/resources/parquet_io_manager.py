"""Stores asset DataFrames as Parquet through Dagster's UPath support (local folder, s3://, gs://)."""

from __future__ import annotations

from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field
from upath import UPath

from .. import settings
from ..storage.frame_store import read_parquet, write_parquet


class _ParquetUPathIOManager(dg.UPathIOManager):
    extension = ".parquet"

    def dump_to_path(self, context: dg.OutputContext, obj: Any, path: UPath) -> None:
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(
                f"{context.asset_key.to_user_string()} returned {type(obj).__name__}; this IO manager stores "
                "pandas DataFrames only."
            )
        write_parquet(obj, path)

    def load_from_path(self, context: dg.InputContext, path: UPath) -> pd.DataFrame:
        return read_parquet(path)


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Base URL defaults to AIVLINGUAL_STORAGE_URL, else ``$AIVLINGUAL_HOME/storage``."""

    base_url: str | None = Field(default=None, description="Folder or s3:// / gs:// URL.")
    storage_options: dict[str, Any] = Field(default_factory=dict, description="fsspec options (credentials come from the environment).")

    def resolved_base(self) -> UPath:
        return UPath(self.base_url or settings.storage_url(), **self.storage_options)

    def create_io_manager(self, context) -> _ParquetUPathIOManager:
        return _ParquetUPathIOManager(base_path=self.resolved_base())
