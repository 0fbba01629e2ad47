"""What the catalogue says about every asset besides its own metadata: owners, and code versions.

A code version names what changes an asset's output, so Dagster can tell which materialisations are
stale after a change: the prompt versions of the AI tasks (bumped when a prompt changes) and, for the
offline engine, its fingerprint (its code version, lexicon, grammar patterns and dictionary packages).
Assets without one here have no such handle (their output follows the recording or the stock).
"""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

OWNERS = ["team:aivlingual"]


def code_versions() -> dict[str, str]:
    from ..analysis.tasks import AssessLevels, ExtractExpressions, offline_engine_fingerprint
    from ..publishing.shorts import COPY_VERSION

    engine = offline_engine_fingerprint()[:12]
    return {
        "expressions": f"prompt-{ExtractExpressions.version}+engine-{engine}",
        "difficulty": f"prompt-{AssessLevels.version}+engine-{engine}",
        "shorts": f"copy-{COPY_VERSION}",
    }


def with_catalogue_attributes(assets: Iterable[dg.AssetsDefinition]) -> list[dg.AssetsDefinition]:
    versions = code_versions()

    def attributes(spec: dg.AssetSpec) -> dg.AssetSpec:
        version = versions.get(spec.key.to_user_string(), spec.code_version)
        return spec.replace_attributes(owners=spec.owners or OWNERS, code_version=version)

    return list(dg.map_asset_specs(attributes, list(assets)))


# The AI numbers plotted per materialisation: the story of a step's AI use. The rest of the meter's numbers
# (requests, hit rate, failures, tokens) are kept together in one entry, which the UI shows but does not plot.
PLOTTED_AI = ("ai/api_calls", "ai/cache_hits", "ai/cost_usd", "ai/saved_usd")


def ai_metadata(meter) -> dict[str, object]:
    """A meter's metadata for an asset: the plotted four, the provider/model actually used, the rest grouped."""
    numbers = meter.metadata()
    models = str(numbers.pop("ai/models", "none"))
    plotted = {key: numbers.pop(key) for key in PLOTTED_AI if key in numbers}
    return {**plotted, "ai/providers": models, "ai/details": dg.MetadataValue.json(numbers)}
