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

    def load_partitions(self, context: dg.InputContext):
        """One recording's frame is read without Dagster's two debug lines ("Loading 1 partitions...", "Loading
        partition ... from ...") per input: each is an event stored in the run's log, 32 of a recording run's
        ~150 events, and the LOADED_INPUT event and the materialisation's ``path`` already say the same."""
        keys = context.asset_partition_keys
        if len(keys) != 1:
            return super().load_partitions(context)
        return self.load_from_path(context, self._get_paths_for_partitions(context)[keys[0]])

    def get_metadata(self, context: dg.OutputContext, obj: Any) -> dict[str, Any]:
        """Dagster's standard keys: the catalogue's row count and Columns view read them."""
        return {"dagster/row_count": dg.MetadataValue.int(len(obj)),
                "dagster/column_schema": dg.MetadataValue.table_schema(frame_schema(obj))}


def frame_schema(frame: pd.DataFrame) -> dg.TableSchema:
    """The frame's columns with their pandas types (``object`` columns hold text or JSON here)."""
    return dg.TableSchema(columns=[dg.TableColumn(str(name), _type_name(dtype)) for name, dtype in frame.dtypes.items()])


def _type_name(dtype) -> str:
    return "string" if dtype == object or str(dtype) in ("str", "string") else str(dtype)


class ParquetIOManager(dg.ConfigurableIOManagerFactory):
    """Base URL defaults to AIVLINGUAL_STORAGE_URL, else ``$AIVLINGUAL_HOME/storage``."""

    base_url: str | None = Field(default=None, description="Folder or s3:// / gs:// URL.")
    storage_options: dict[str, Any] = Field(default_factory=dict, description="fsspec options (credentials come from the environment).")

    def resolved_base(self) -> UPath:
        return UPath(self.base_url or settings.storage_url(), **self.storage_options)

    def create_io_manager(self, context) -> _ParquetUPathIOManager:
        return _ParquetUPathIOManager(base_path=self.resolved_base())
