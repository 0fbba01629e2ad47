"""Analysis: what a learner wants from each stream, how hard it is, and the stock across streams."""

from collections.abc import Iterator

import dagster as dg
import pandas as pd

from ..analysis.pipeline import (
    assess_levels,
    expressions_frame,
    extract_recording_expressions,
    frame_expressions,
    transcript_lines,
    with_levels,
)
from ..ai import batching
from ..analysis.stock_columns import nested
from ..ingestion.recording import timestamp_url
from ..ingestion.segments import speaker_lookup
from ..resources import AICoreResource
from ..resources.pipeline import PipelineResource
from .ingestion import recording_from_frame
from .catalogue import ai_metadata
from .partitions import recordings_partitions


@dg.asset(
    partitions_def=recordings_partitions,
    group_name="analysis",
    kinds={"pandas", "openai", "gemini"},
    io_manager_key="parquet_io_manager",
    pool="openai",
    description="Slang, internet and Vtuber culture, cultural references, grammar patterns, common mistakes and "
    "notable vocabulary, each with reading, meaning, context and a timestamp link. In the nightly catch-up with "
    "AIVLINGUAL_BATCH=1, uncached LLM requests go to OpenAI's Batch API (half price): the step then waits "
    "(no materialisation, an observation saying so) and batch_results_sensor re-runs it when the answers are in.",
    output_required=False,  # waiting for a batch is not a failure
    # expressions_complete stays a step of its own (below): a check spec's output is required of the step,
    # and a step waiting for a batch writes nothing, so there is nothing to check yet
)
def expressions(
    context: dg.AssetExecutionContext, transcripts: pd.DataFrame, recordings: pd.DataFrame, ai: AICoreResource
) -> Iterator[dg.Output[pd.DataFrame]]:
    recording = recording_from_frame(recordings)
    lines = transcript_lines(transcripts)
    channel_ai = ai.for_recording(recording.partition_key)  # its channel's keys, models, budget and limits
    with ai.meter() as meter, _non_urgent(context, channel_ai) as pending:
        items = _ai_step(lambda: extract_recording_expressions(lines, pending.tolerant(channel_ai.run_task)))
    if pending:  # some answers come with a batch: nothing is written until they are all in
        _wait_for_batch(context, ai, pending, meter)
        return
    frame = expressions_frame(items, recording=recording.partition_key, recording_title=recording.title,
                              url_for=lambda s: timestamp_url(recording, s), speaker_at=speaker_lookup(transcripts))
    counts = frame["category"].value_counts().to_dict()
    yield dg.Output(
        frame,
        metadata={
            "expressions": len(frame),
            **{f"category/{k}": int(v) for k, v in sorted(counts.items())},
            **ai_metadata(meter),
            "preview": dg.MetadataValue.md(
                frame[["expression", "reading", "meaning", "category", "start"]].head(12).to_markdown(index=False)
            ),
        },
    )


@dg.asset(
    partitions_def=recordings_partitions,
    group_name="analysis",
    kinds={"pandas", "openai", "gemini"},
    io_manager_key="parquet_io_manager",
    pool="openai",
    description="A JLPT-style level (N5-N1, slang, beyond JLPT) per expression with method and confidence, "
    "plus the transcript's readability. Waits for a batch like `expressions` in the nightly catch-up.",
    output_required=False,  # waiting for a batch is not a failure
)
def difficulty(
    context: dg.AssetExecutionContext, expressions: pd.DataFrame, transcripts: pd.DataFrame, ai: AICoreResource
) -> Iterator[dg.Output[pd.DataFrame]]:
    from ..analysis.readability import transcript_readability

    channel_ai = ai.for_recording(context.partition_key)  # its channel's keys, models, budget and limits
    with ai.meter() as meter, _non_urgent(context, channel_ai) as pending:
        levels = _ai_step(lambda: assess_levels(frame_expressions(expressions),
                                                pending.tolerant(channel_ai.run_task)))
    if pending:
        _wait_for_batch(context, ai, pending, meter)
        return
    frame = with_levels(expressions, levels)
    readability = transcript_readability(transcripts["text"].astype(str))
    counts = frame["level"].value_counts().to_dict()
    metadata = {
        "expressions": len(frame),
        **{f"level/{k}": int(v) for k, v in sorted(counts.items())},
        "unassessed": int((frame["level"] == "unassessed").sum()),
        **ai_metadata(meter),
    }
    if readability is not None:
        metadata["readability"] = round(float(readability), 3)
    yield dg.Output(frame, metadata=metadata)


def _non_urgent(context: dg.AssetExecutionContext, channel_ai):
    """The step's AI requests may wait for a half-price batch in the nightly catch-up (``ai/batching``). Not for
    a channel with its own OpenAI key: batches are submitted and collected with the service's key."""
    allowed = batching.non_urgent_run(context.run.tags, channel_ai.name) and not channel_ai.has_own_key("openai")
    return batching.non_urgent(context.partition_key, enabled=allowed)


def _wait_for_batch(context: dg.AssetExecutionContext, ai: AICoreResource, pending, meter) -> None:
    """A step whose answers come with a batch writes nothing; an observation says what it waits for."""
    waiting = {**_ai_step(lambda: batching.submit_waiting(ai.core, pending)), **ai_metadata(meter)}
    context.log.info(f"{batching.WAITING}: {waiting['batch/requests']} request(s) in {waiting['batch/batches']}")
    context.log_event(dg.AssetObservation(asset_key=context.asset_key, partition=context.partition_key,
                                          metadata=waiting))


def _ai_step(fn):
    """AI failures become clear Dagster failures for this recording only (nothing half-written)."""
    from ..ai.errors import AIError, BudgetExceededError

    try:
        return fn()
    except BudgetExceededError as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from exc
    except AIError as exc:
        raise dg.Failure(description=str(exc)) from exc


class VocabularyConfig(dg.Config):
    rebuild: bool = False  # re-merge every recording from scratch (e.g. after changing the merge threshold)
    near_duplicate_threshold: float = 0.92


@dg.asset(
    deps=[difficulty],
    group_name="analysis",
    kinds={"pandas", "faiss", "openai", "gemini"},
    io_manager_key="parquet_io_manager",
    description="The vocabulary stock: one row per expression across all recordings, near-duplicates merged with "
    "FAISS, occurrences with timestamp links, themes as tags. Updated incrementally: a recording analysed again "
    "replaces its rows. `key` is a row's stable id; the keys of rows gone since the last stock are in the "
    "`removed_keys` metadata.",
)
def vocabulary(
    context: dg.AssetExecutionContext, config: VocabularyConfig, ai: AICoreResource, pipeline: PipelineResource
) -> dg.Output[pd.DataFrame]:
    # imported here: the stock's modules (FAISS, the stock's columns and index) serve only this step, and every
    # process that loads the definitions would import them (~0.1 s; `aivlingual process --skip-stock`, a step's
    # subprocess, a code server)
    from ..analysis.vocabulary_store import refresh_vocabulary

    partitions = context.instance.get_dynamic_partitions(recordings_partitions.name)
    registry = pipeline.registry()
    titles = {p: recording.title for p in partitions if (recording := registry.get(p)) is not None}
    with ai.meter() as meter:
        result = _ai_step(lambda: refresh_vocabulary(
            frames=pipeline.frames(),
            index_dir=pipeline.data_dir("vocabulary_index"),
            partitions=partitions,
            embed=lambda texts: ai.embed(texts, request_type="vocabulary.embed", endpoint="vocabulary"),
            rebuild=config.rebuild,
            threshold=config.near_duplicate_threshold,
            titles=titles,  # a title learnt after a recording's analysis still reaches the stock
        ))
    stock = result.stock
    return dg.Output(
        stock,
        metadata={
            "rows": len(stock),
            "recordings_merged": len(result.merged_recordings),
            "recordings_replaced": len(result.replaced_recordings),  # analysed again: their old rows replaced
            "recordings_removed": len(result.removed_recordings),  # no longer registered
            "recordings_retitled": len(result.retitled_recordings),
            "removed": len(result.removed_keys),
            "removed_keys": dg.MetadataValue.json(result.removed_keys),  # stock keys gone since the last stock
            "added": result.added,
            "merged_exact": result.merged_exact,
            "merged_near": result.merged_near,
            "embedded_texts": result.embedded,
            "themes": int(stock["theme"].nunique()) if len(stock) else 0,
            **ai_metadata(meter),
            "top_expressions": dg.MetadataValue.md(
                stock.sort_values("count", ascending=False)[["expression", "reading", "meaning", "level", "count"]]
                .head(15).to_markdown(index=False) if len(stock) else "(empty)"
            ),
        },
    )


@dg.asset_check(asset=vocabulary, description="Every row has a reading, a meaning and at least one occurrence.")
def vocabulary_rows_complete(vocabulary: pd.DataFrame) -> dg.AssetCheckResult:
    no_reading = vocabulary["reading"].fillna("").str.strip() == ""
    no_meaning = vocabulary["meaning"].fillna("").str.strip() == ""
    no_occurrence = vocabulary["occurrences"].map(lambda s: len(nested(s, ())) == 0)  # native, or JSON text
    bad = vocabulary.loc[no_reading | no_meaning | no_occurrence, "expression"].tolist()
    return dg.AssetCheckResult(passed=not bad, metadata={"incomplete_rows": len(bad),
                                                         "examples": ", ".join(map(str, bad[:10])) or "none"})


@dg.asset_check(asset=vocabulary, description="No expression appears twice (keys are unique).")
def vocabulary_keys_unique(vocabulary: pd.DataFrame) -> dg.AssetCheckResult:
    duplicated = vocabulary.loc[vocabulary["key"].duplicated(), "key"].tolist()
    return dg.AssetCheckResult(passed=not duplicated, metadata={"duplicate_keys": len(duplicated)})


@dg.asset_check(asset=expressions, partitions_def=recordings_partitions,
                description="Every expression has reading, meaning and a valid timestamp.",
                additional_ins={"transcripts": dg.AssetIn("transcripts")})
def expressions_complete(expressions: pd.DataFrame, transcripts: pd.DataFrame) -> dg.AssetCheckResult:
    end = float(transcripts["end"].max()) if len(transcripts) else 0.0
    bad = expressions[
        (expressions["reading"].str.strip() == "")
        | (expressions["meaning"].str.strip() == "")
        | (expressions["start"] < 0)
        | (expressions["start"] > end + 1)
    ]
    return dg.AssetCheckResult(check_name="expressions_complete", passed=bad.empty,
                               metadata={"invalid_rows": len(bad), "expressions": len(expressions)})
