"""Content multiplication: upload metadata, worksheets, thumbnails and a weekly lesson video.

Every output names its source channel and link. A recording that the ``rights`` resource does not
clear for publishing gets plans only (text, tables), never a published clip, image or video.
"""

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import pandas as pd

from ..ingestion.recording import timestamp_url
from ..publishing.clip_planner import clip_plans_from_frame
from ..ingestion.recording import Recording
from ..publishing.content_source import (
    PublishingRights,
    Source,
    example_lines,
    expressions_from_frame,
    stock_expressions,
)
from ..publishing.lesson_video import (
    lesson_items,
    lesson_problems,
    new_in_week,
    plan_lesson,
    plan_to_frame,
    recording_info,
    render_lesson,
)
from ..publishing.thumbnails import ThumbnailPlan, build_thumbnails, thumbnail_problems
from ..publishing.upload_metadata import (
    build_upload_metadata,
    limit_problems,
    packages_from_frame,
    packages_to_frame,
    subjects_for,
    write_packages,
)
from ..publishing.upload_metadata import preview as upload_preview
from ..publishing.worksheet_pdf import plan_worksheet, render_worksheet, worksheet_problems
from ..resources import AICoreResource
from ..resources.pipeline import PipelineResource
from .analysis import _ai_step
from .checks import recording_check
from .ingestion import recording_from_frame
from .partitions import recordings_partitions


@dg.asset(
    partitions_def=recordings_partitions,
    ins={"levelled": dg.AssetIn("difficulty"), "shorts": dg.AssetIn("shorts")},
    group_name="content",
    kinds={"pandas", "youtube", "openai", "gemini"},
    io_manager_key="parquet_io_manager",
    pool="openai",
    description="Upload-ready text per Short and per recording: YouTube title, description (expressions, "
    "original-stream timestamps, credit), tags and chapters; an X post and an Instagram caption. Written on the "
    "cheap tier (offline: templates); every platform limit is met.",
    check_specs=[recording_check(  # evaluated in this step (assets/checks.py)
        "upload_metadata_within_limits", "upload_metadata", "Every title, description, tag list, chapter list, X post "
        "(weighted count) and Instagram caption is within its platform's limit and credits the original channel.")],
)
def upload_metadata(
    context: dg.AssetExecutionContext,
    levelled: pd.DataFrame,
    shorts: pd.DataFrame,
    transcripts: pd.DataFrame,
    recordings: pd.DataFrame,
    ai: AICoreResource,
    rights: PublishingRights,
    pipeline: PipelineResource,
) -> Iterator[dg.Output[pd.DataFrame] | dg.AssetCheckResult]:
    recording = recording_from_frame(recordings)
    clearance = rights.clearance(recording)
    duration = float(recording.duration_seconds or (transcripts["end"].max() if len(transcripts) else 0.0))
    subjects = subjects_for(
        Source.of(recording), shorts=clip_plans_from_frame(shorts) if len(shorts) else [],
        expressions=expressions_from_frame(levelled), transcript_lines=[str(t) for t in transcripts["text"]],
        duration=duration, url_for=lambda s: timestamp_url(recording, s),
    )
    channel_ai = ai.for_recording(recording.partition_key)  # its channel's keys, models, budget and limits
    with ai.meter() as meter:
        packages = _ai_step(lambda: build_upload_metadata(
            subjects, channel_ai.run_task, duration=duration, timestamp_link=lambda s: timestamp_url(recording, s)))
    frame = packages_to_frame(packages, cleared=clearance.cleared)
    whole = next(p for p in packages if p.kind == "recording")
    copy_file = write_packages(packages, pipeline.data_dir("uploads") / f"{recording.partition_key}.json",
                               cleared=clearance.cleared)
    yield dg.Output(frame, metadata={
        "json": dg.MetadataValue.path(str(copy_file)),
        "preview": dg.MetadataValue.md(upload_preview(packages)),
        "uploads": len(frame),
        "shorts": int((frame["kind"] == "short").sum()),
        "chapters": len(whole.chapters),
        "max_x_weighted_length": int(frame["x_weighted_length"].max()),
        "recording_title": whole.title,
        **clearance.metadata(),
        **meter.metadata(),
    })
    yield upload_metadata_within_limits(frame)


def upload_metadata_within_limits(upload_metadata: pd.DataFrame) -> dg.AssetCheckResult:
    problems = [p for package in packages_from_frame(upload_metadata) for p in limit_problems(package)]
    return dg.AssetCheckResult(check_name="upload_metadata_within_limits", passed=not problems, metadata={
        "problems": "\n".join(problems) or "none", "uploads_checked": len(upload_metadata),
        "x_weighted_lengths": json.dumps([int(n) for n in upload_metadata["x_weighted_length"]]),
    })


WORKSHEET_CHECK = ("The worksheet PDF opens, has the pages it was rendered with (answer key last, on a page of its "
                   "own), and its extracted text holds every expression and the channel's name.")


def recording_date(recording: Recording) -> str:
    """The date a worksheet shows: a local file's modification date, else today (UTC)."""
    if recording.path and Path(recording.path).is_file():
        return datetime.fromtimestamp(Path(recording.path).stat().st_mtime, UTC).date().isoformat()
    return datetime.now(UTC).date().isoformat()


@dg.asset(
    partitions_def=recordings_partitions,
    ins={"levelled": dg.AssetIn("difficulty")},
    group_name="content",
    kinds={"pandas", "pdf"},
    io_manager_key="parquet_io_manager",
    description="A printable A4 worksheet (PDF) per recording: title, channel, link and date; the expressions with "
    "furigana over kanji, meanings and levels; cloze, meaning-matching and reading exercises from the stream's own "
    "lines; the answer key on its own page.",
    check_specs=[recording_check("worksheet_complete", "worksheets", WORKSHEET_CHECK)],  # in this step (assets/checks.py)
)
def worksheets(
    context: dg.AssetExecutionContext, levelled: pd.DataFrame, recordings: pd.DataFrame, rights: PublishingRights,
    pipeline: PipelineResource,
) -> Iterator[dg.Output[pd.DataFrame] | dg.AssetCheckResult]:
    recording = recording_from_frame(recordings)
    clearance = rights.clearance(recording)
    content = plan_worksheet(
        Source.of(recording), expressions_from_frame(levelled), example_lines(levelled), date=recording_date(recording),
        private_note="" if clearance.cleared else "Not cleared for publishing: for private study only.",
    )
    report = render_worksheet(content, pipeline.data_dir("worksheets") / f"{recording.partition_key}.pdf")
    frame = _worksheet_row(recording.partition_key, report, content, clearance.cleared)
    yield dg.Output(frame, metadata={
        "pdf": dg.MetadataValue.path(str(report.path)), "pages": report.pages, "expressions": report.expressions,
        "exercises": report.cloze + report.match + report.reading, **clearance.metadata(),
    })
    yield worksheet_complete(frame)


def _worksheets_checked(frame: pd.DataFrame) -> dg.AssetCheckResult:
    problems: list[str] = []
    for row in frame.itertuples():
        problems += worksheet_problems(row.path, pages=int(row.pages), answer_key_page=int(row.answer_key_page),
                                       expressions=json.loads(row.expressions), channel=row.channel)
    return dg.AssetCheckResult(passed=not problems, metadata={"problems": "\n".join(problems) or "none",
                                                              "worksheets_checked": len(frame)})


def worksheet_complete(worksheets: pd.DataFrame) -> dg.AssetCheckResult:
    return _worksheets_checked(worksheets)._replace(check_name="worksheet_complete")


def _worksheet_row(key: str, report, content, cleared: bool) -> pd.DataFrame:
    return pd.DataFrame([{
        "recording": key, "path": str(report.path), "pages": report.pages,
        "answer_key_page": report.answer_key_page, "expressions": json.dumps(
            [e.expression for e in content.expressions], ensure_ascii=False),
        "channel": content.source.channel_label, "cloze": report.cloze, "match": report.match,
        "reading": report.reading, "cleared": cleared,
    }])


@dg.asset(
    partitions_def=recordings_partitions,
    ins={"shorts": dg.AssetIn("shorts")},
    group_name="content",
    kinds={"pandas", "pillow", "ffmpeg"},
    io_manager_key="parquet_io_manager",
    description="Per Short, a 1080x1920 cover and a 1280x720 thumbnail: the sharpest still while the key expression "
    "is said, the expression overlaid large with its reading, meaning and the channel, inside the safe area. "
    "Recordings not cleared for publishing (or without local media) get the plan only.",
    check_specs=[recording_check(  # evaluated in this step (assets/checks.py)
        "thumbnails_fit", "thumbnails", "Covers are 1080x1920 and thumbnails 1280x720 (under 2 MB), and the text's "
        "ink, measured from the pixels, lies inside each format's safe area.")],
)
def thumbnails(
    context: dg.AssetExecutionContext, shorts: pd.DataFrame, recordings: pd.DataFrame, rights: PublishingRights,
    pipeline: PipelineResource,
) -> Iterator[dg.Output[pd.DataFrame] | dg.AssetCheckResult]:
    recording = recording_from_frame(recordings)
    clearance = rights.clearance(recording)
    media = recording.path if recording.source == "file" and recording.path else None
    render = clearance.cleared and media is not None
    out_dir = pipeline.data_dir("thumbnails") / recording.partition_key
    rows = build_thumbnails(clip_plans_from_frame(shorts) if len(shorts) else [], source=Source.of(recording),
                            media=media, out_dir=out_dir, render=render)
    frame = pd.DataFrame([vars(r) for r in rows], columns=list(ThumbnailPlan.__dataclass_fields__))
    metadata = {"shorts": len(frame), "rendered": int(frame["cover_path"].notna().sum()) if len(frame) else 0,
                **clearance.metadata()}
    if render:
        metadata["folder"] = dg.MetadataValue.path(str(out_dir))
    else:
        metadata["note"] = clearance.reason if not clearance.cleared else "no local media: plans only"
    yield dg.Output(frame, metadata=metadata)
    yield thumbnails_fit(frame)


def thumbnails_fit(thumbnails: pd.DataFrame) -> dg.AssetCheckResult:
    rows = [ThumbnailPlan(**{k: (None if isinstance(v, float) and pd.isna(v) else v) for k, v in r.items()})
            for r in thumbnails.to_dict("records")]
    problems = [p for row in rows for p in thumbnail_problems(row)]
    return dg.AssetCheckResult(check_name="thumbnails_fit", passed=not problems, metadata={
        "problems": "\n".join(problems) or "none",
        "images_checked": sum(bool(r.cover_path) + bool(r.thumbnail_path) for r in rows)})


lesson_weeks = dg.WeeklyPartitionsDefinition(start_date="2025-01-06", day_offset=1, end_offset=1)  # Mondays; the current week too


class LessonConfig(dg.Config):
    min_minutes: float = 15.0  # stop adding expressions once the video is this long ...
    max_minutes: float = 20.0  # ... and never go past this
    render: bool = True  # False: the plan only


@dg.asset(
    partitions_def=lesson_weeks,
    ins={"vocabulary": dg.AssetIn("vocabulary")},
    group_name="content",
    kinds={"pandas", "ffmpeg", "youtube"},
    io_manager_key="parquet_io_manager",
    description="The week's lesson video (15-20 min when the week has enough, shorter otherwise): a title card, "
    "then per new expression a card (expression, reading, meaning, level, source) and its clip, then credits; "
    "chapters at the title and every card. Only recordings cleared for publishing with local media are cut.",
)
def lesson_video(
    context: dg.AssetExecutionContext, config: LessonConfig, vocabulary: pd.DataFrame, rights: PublishingRights,
    pipeline: PipelineResource,
) -> dg.Output[pd.DataFrame]:
    week_start = datetime.fromisoformat(context.partition_key).replace(tzinfo=UTC)
    new = new_in_week(vocabulary, week_start, week_start + timedelta(days=7))
    registry = pipeline.registry()
    items, skipped = lesson_items(new, recording_info(registry.get, rights.clearance))
    plan = plan_lesson(items, week=context.partition_key, min_seconds=config.min_minutes * 60,
                       max_seconds=config.max_minutes * 60, skipped=skipped)
    video = None
    if plan.segments and config.render:
        video = pipeline.data_dir("lessons") / f"lesson-{context.partition_key}-{plan.digest()}.mp4"
        if not video.exists():
            render_lesson(plan, video)
    metadata = {
        "new_expressions": len(new), "expressions_shown": len(plan.items), "skipped": len(skipped),
        "planned_seconds": round(plan.planned_seconds, 2),
        "channels": ", ".join(sorted({i.source.channel_label for i in plan.items})) or "none",
    }
    if video is not None:
        metadata["video"] = dg.MetadataValue.path(str(video))
    else:
        metadata["note"] = ("plan only: render is off" if plan.segments else
                            "nothing to show: no new expression this week from a cleared recording with local media")
    if skipped:
        metadata["skipped_reasons"] = dg.MetadataValue.md("\n".join(f"- {s}" for s in skipped[:50]))
    return dg.Output(plan_to_frame(plan, str(video) if video else None), metadata=metadata)


@dg.asset_check(asset=lesson_video, partitions_def=lesson_weeks,
                description="The lesson video plays back at 1280x720 with the planned length and a chapter at the "
                "title and at every expression card.")
def lesson_video_plays(lesson_video: pd.DataFrame) -> dg.AssetCheckResult:
    paths = lesson_video["video_path"].dropna().unique() if len(lesson_video) else []
    if not len(paths):
        return dg.AssetCheckResult(passed=True, metadata={"problems": "none", "note": "no video this week"})
    chapters = [(float(r.at), str(r.chapter)) for r in lesson_video.itertuples() if isinstance(r.chapter, str)]
    problems = lesson_problems(paths[0], planned_seconds=float(lesson_video["seconds"].sum()), chapters=chapters,
                               segments=len(lesson_video))
    return dg.AssetCheckResult(passed=not problems, metadata={
        "problems": "\n".join(problems) or "none", "planned_seconds": round(float(lesson_video["seconds"].sum()), 2),
        "chapters": len(chapters)})


@dg.asset(
    partitions_def=lesson_weeks,
    ins={"vocabulary": dg.AssetIn("vocabulary")},
    group_name="content",
    kinds={"pandas", "pdf"},
    io_manager_key="parquet_io_manager",
    description="The week's worksheet: the stock's expressions first seen in the week, laid out like a recording's "
    "worksheet (furigana, meanings, levels, exercises from the streams' lines, answer key), every stream credited.",
)
def weekly_worksheet(
    context: dg.AssetExecutionContext, vocabulary: pd.DataFrame, rights: PublishingRights, pipeline: PipelineResource,
) -> dg.Output[pd.DataFrame]:
    week = context.partition_key
    week_start = datetime.fromisoformat(week).replace(tzinfo=UTC)
    expressions, examples, keys = stock_expressions(new_in_week(vocabulary, week_start, week_start + timedelta(days=7)))
    registry = pipeline.registry()
    recordings = [r for r in (registry.get(k) for k in keys) if r is not None]
    sources = [Source.of(r) for r in recordings]
    not_cleared = [r.title for r in recordings if not rights.clearance(r).cleared]
    channels = ", ".join(sorted({s.channel_label for s in sources})) or None
    content = plan_worksheet(
        Source(recording=f"week-{week}", title=f"New this week: {week}", channel=channels, url=None),
        expressions, examples, date=week, sources=sources,
        private_note=f"Not cleared for publishing ({', '.join(not_cleared)}): for private study only."
        if not_cleared else "",
    )
    report = render_worksheet(content, pipeline.data_dir("worksheets") / f"week-{week}.pdf")
    return dg.Output(_worksheet_row(f"week-{week}", report, content, not not_cleared), metadata={
        "pdf": dg.MetadataValue.path(str(report.path)), "pages": report.pages, "expressions": report.expressions,
        "streams": len(sources), "cleared_for_publishing": not not_cleared,
    })


@dg.asset_check(asset=weekly_worksheet, partitions_def=lesson_weeks, description=WORKSHEET_CHECK)
def weekly_worksheet_complete(weekly_worksheet: pd.DataFrame) -> dg.AssetCheckResult:
    return _worksheets_checked(weekly_worksheet)


lesson_job = dg.define_asset_job(
    name="lesson_job", selection=dg.AssetSelection.assets("lesson_video", "weekly_worksheet"),
    partitions_def=lesson_weeks,
    description="The weekly lesson video and worksheet from the stock's new expressions.",
)


@dg.schedule(job=lesson_job, cron_schedule="0 6 * * 1", execution_timezone="UTC",
             default_status=dg.DefaultScheduleStatus.STOPPED,
             description="Monday 06:00 UTC: the lesson video of the week that has just ended.")
def lesson_schedule(context: dg.ScheduleEvaluationContext) -> dg.RunRequest:
    week = last_full_week(context.scheduled_execution_time)
    return dg.RunRequest(run_key=f"lesson-{week}", partition_key=week)


def last_full_week(now: datetime) -> str:
    """The Monday (ISO date) of the last week that has ended by ``now``."""
    monday = (now.astimezone(UTC) - timedelta(days=now.astimezone(UTC).weekday())).date()
    return (monday - timedelta(days=7)).isoformat()


def summary_lines(summary: dict[str, dict]) -> list[str]:
    """What a recording run made for publishing, for `aivlingual process` (asset -> materialisation metadata)."""
    lines = []
    uploads, sheet, thumbs = (summary.get(k) for k in ("upload_metadata", "worksheets", "thumbnails"))
    if uploads:
        lines.append(f"upload text: {uploads.get('uploads', 0)} (YouTube, X, Instagram; "
                     f"{uploads.get('chapters', 0)} chapters for the recording)"
                     + (f" in {uploads['json']}" if uploads.get("json") else ""))
    if sheet:
        lines.append(f"worksheet: {sheet.get('pdf')} ({sheet.get('pages')} pages)")
    if thumbs:
        lines.append(f"thumbnails: {thumbs.get('rendered', 0)} Short(s) with cover and thumbnail"
                     + (f" in {thumbs['folder']}" if thumbs.get("folder") else ""))
    if any(m.get("cleared_for_publishing") is False for m in (uploads, sheet, thumbs) if m):
        lines.append("not cleared for publishing: plans only (see the 'rights' resource)")
    return lines
