"""Notion access for publishing: token, database and base URL from the environment."""

import os

import dagster as dg
from pydantic import Field


class NotionResource(dg.ConfigurableResource):
    """Unset fields fall back to NOTION_TOKEN, NOTION_DATABASE_ID / NOTION_DATA_SOURCE_ID and NOTION_BASE_URL."""

    token: str | None = Field(default=None, description="Integration token; pass dg.EnvVar('NOTION_TOKEN').")
    database_id: str | None = Field(default=None, description="Vocabulary database id or URL.")
    data_source_id: str | None = Field(default=None, description="Its data source id (API 2025-09-03).")
    base_url: str | None = Field(default=None, description="API base URL; default Notion's.")

    def resolved_token(self) -> str | None:
        return self.token or os.environ.get("NOTION_TOKEN") or None

    def configured(self) -> bool:
        return bool(self.resolved_token() and (self.target_database() or self.target_data_source()))

    def target_database(self) -> str | None:
        return self.database_id or os.environ.get("NOTION_DATABASE_ID") or None

    def target_data_source(self) -> str | None:
        return self.data_source_id or os.environ.get("NOTION_DATA_SOURCE_ID") or None

    def client(self):
        return self.client_for(self.resolved_token() or "")

    def client_for(self, token: str):
        """A client with ``token`` (a channel's own Notion key, or the service's) on this resource's base URL."""
        from ..publishing.notion_api import make_client

        return make_client(token, base_url=self.base_url or os.environ.get("NOTION_BASE_URL"))
