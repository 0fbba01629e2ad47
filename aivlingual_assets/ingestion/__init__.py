"""Ingestion domain: recordings, transcripts from subtitles or YouTube, media, inbox, feeds.

Plain Python with no Dagster imports, so every piece is unit-testable alone;
the Dagster assets and sensors wrap these functions.
"""

from aivlingual_assets.ingestion.channel_feed import FeedEntry, feed_url, fetch_channel_feed, parse_feed
from aivlingual_assets.ingestion.errors import (
    EmptyTranscriptError,
    FeedError,
    InboxError,
    IngestionError,
    InvalidVideoIdError,
    MediaError,
    MissingFileError,
    SubtitleError,
    SubtitleTooLargeError,
    TranscriptUnavailableError,
    UnsupportedFileError,
    YouTubeUrlWithoutVideoIdError,
)
from aivlingual_assets.ingestion.inbox import InboxGroup, InboxScan, scan_inbox
from aivlingual_assets.ingestion.media import (
    AudioChunk,
    extract_audio,
    ffmpeg_exe,
    file_sha256,
    probe_duration,
    split_audio,
)
from aivlingual_assets.ingestion.recording import (
    Recording,
    parse_video_id,
    recording_from_files,
    recording_from_path,
    recording_from_source,
    recording_from_youtube,
    timestamp_url,
)
from aivlingual_assets.ingestion.segments import TRANSCRIPT_COLUMNS, Segment, frame_to_segments, segments_to_frame
from aivlingual_assets.ingestion.subtitles import parse_subtitle_file, parse_subtitle_text, read_subtitle_file
from aivlingual_assets.ingestion.youtube import fetch_video_details, fetch_youtube_transcript, with_video_details

__all__ = [
    "TRANSCRIPT_COLUMNS",
    "AudioChunk",
    "EmptyTranscriptError",
    "FeedEntry",
    "FeedError",
    "InboxError",
    "InboxGroup",
    "InboxScan",
    "IngestionError",
    "InvalidVideoIdError",
    "MediaError",
    "MissingFileError",
    "Recording",
    "Segment",
    "SubtitleError",
    "SubtitleTooLargeError",
    "TranscriptUnavailableError",
    "UnsupportedFileError",
    "YouTubeUrlWithoutVideoIdError",
    "extract_audio",
    "feed_url",
    "fetch_channel_feed",
    "fetch_video_details",
    "fetch_youtube_transcript",
    "ffmpeg_exe",
    "file_sha256",
    "frame_to_segments",
    "parse_feed",
    "parse_subtitle_file",
    "parse_subtitle_text",
    "parse_video_id",
    "read_subtitle_file",
    "probe_duration",
    "recording_from_files",
    "recording_from_path",
    "recording_from_source",
    "recording_from_youtube",
    "scan_inbox",
    "segments_to_frame",
    "split_audio",
    "timestamp_url",
    "with_video_details",
]
