from __future__ import annotations

import hashlib
import re
import shutil
from pathlib import Path

import pytest

from aivlingual_assets.ingestion.channel_feed import feed_url
from aivlingual_assets.ingestion.errors import (
    InvalidVideoIdError,
    MediaError,
    MissingFileError,
    UnsupportedFileError,
    YouTubeUrlWithoutVideoIdError,
)
from aivlingual_assets.ingestion.recording import (
    Recording,
    find_partner_media,
    pairing_stem,
    parse_video_id,
    recording_from_files,
    recording_from_path,
    recording_from_source,
    recording_from_youtube,
    subtitle_language,
    timestamp_url,
)
from aivlingual_tests.ingestion.conftest import SUBTITLES

SRT = "1\n00:00:01,000 --> 00:00:02,500\nこんにちは\n\n2\n00:00:03,000 --> 00:00:07,250\nまたね\n"


def test_same_media_twice_gives_the_same_key(tmp_path: Path, clip: Path):
    first = shutil.copy(clip, tmp_path / "stream_2025-01-01.mp4")
    second = shutil.copy(clip, tmp_path / "renamed copy.mp4")
    a, b = recording_from_path(first), recording_from_path(second)
    expected = hashlib.sha256(clip.read_bytes()).hexdigest()
    assert a.partition_key == b.partition_key == f"file-{expected[:12]}"
    assert a.content_hash == expected
    assert re.fullmatch(r"file-[0-9a-f]{12}", a.partition_key)
    assert a.source == "file" and a.title == "stream 2025-01-01" and b.title == "renamed copy"
    assert a.duration_seconds == pytest.approx(2.0, abs=0.1)
    assert a.subtitle_path is None and a.url is None and a.language == "ja"


def test_media_and_language_tagged_subtitle_pair_up(tmp_path: Path, clip: Path):
    media = Path(shutil.copy(clip, tmp_path / "talk.mp4"))
    (tmp_path / "talk.ja.srt").write_text(SRT, encoding="utf-8")
    (tmp_path / "talk.en.srt").write_text(SRT, encoding="utf-8")
    (tmp_path / "talking.srt").write_text(SRT, encoding="utf-8")  # a different recording
    from_media = recording_from_path(media)
    from_subtitle = recording_from_path(tmp_path / "talk.ja.srt")
    assert from_media == from_subtitle
    assert from_media.path == str(media.absolute())
    assert from_media.subtitle_path == str((tmp_path / "talk.ja.srt").absolute())
    # the key comes from the media, so adding a subtitle later does not change it
    assert from_media.partition_key == recording_from_files(media=media, subtitle=None).partition_key


def test_subtitle_only_recording(tmp_path: Path):
    subtitle = tmp_path / "zatsudan_night.ja.srt"
    subtitle.write_text(SRT, encoding="utf-8")
    recording = recording_from_path(subtitle)
    digest = hashlib.sha256(subtitle.read_bytes()).hexdigest()
    assert recording.partition_key == f"file-{digest[:12]}"
    assert recording.path is None and recording.subtitle_path == str(subtitle.absolute())
    assert recording.duration_seconds == 7.25  # the last cue's end
    assert recording.title == "zatsudan night"
    assert timestamp_url(recording, 3) is None


def test_subtitle_whose_full_stem_matches_media(tmp_path: Path, clip: Path):
    media = Path(shutil.copy(clip, tmp_path / "live.abc.mp4"))  # "abc" looks like a language tag
    (tmp_path / "live.abc.srt").write_text(SRT, encoding="utf-8")
    assert find_partner_media(tmp_path / "live.abc.srt") == media
    recording = recording_from_path(media)
    assert recording.subtitle_path == str((tmp_path / "live.abc.srt").absolute())
    assert recording.language == "ja"  # "abc" is part of the name here, not a language tag
    english = tmp_path / "solo.en.srt"
    english.write_text(SRT, encoding="utf-8")
    assert recording_from_path(english).language == "en"


def test_downloader_file_names_keep_the_video_id(tmp_path: Path):
    subtitle = tmp_path / "【歌枠】夜のまったり歌枠 [dQw4w9WgXcQ].ja.vtt"
    subtitle.write_text("WEBVTT\n\n00:00:01.000 --> 00:00:04.000\nうたうよ\n", encoding="utf-8")
    recording = recording_from_path(subtitle)
    assert recording.video_id == "dQw4w9WgXcQ" and recording.source == "file"
    assert timestamp_url(recording, 65.9) == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=65s"


def test_unknown_extension_and_missing_file(tmp_path: Path):
    (tmp_path / "cover.png").write_bytes(b"\x89PNG")
    with pytest.raises(UnsupportedFileError) as caught:
        recording_from_path(tmp_path / "cover.png")
    assert ".png" in str(caught.value) and ".mp4" in str(caught.value)
    with pytest.raises(MissingFileError, match="does not exist"):
        recording_from_path(tmp_path / "nothing.mp4")


def test_corrupt_subtitle_only_recording_is_a_clear_error():
    from aivlingual_assets.ingestion.errors import SubtitleError

    with pytest.raises(SubtitleError):
        recording_from_path(SUBTITLES / "broken_timing.srt")


@pytest.mark.parametrize(
    "text",
    [
        "dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=42s&list=PL123",
        "https://m.youtube.com/watch?feature=share&v=dQw4w9WgXcQ",
        "www.youtube.com/watch?v=dQw4w9WgXcQ",
        "https://youtu.be/dQw4w9WgXcQ?si=abcdef",
        "https://www.youtube.com/shorts/dQw4w9WgXcQ",
        "https://www.youtube.com/live/dQw4w9WgXcQ?feature=shared",
        "https://www.youtube.com/embed/dQw4w9WgXcQ",
        "https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ?start=10",
        "  https://music.youtube.com/watch?v=dQw4w9WgXcQ  ",
    ],
)
def test_parse_video_id_accepts_every_form(text: str):
    assert parse_video_id(text) == "dQw4w9WgXcQ"


@pytest.mark.parametrize(
    "text",
    ["", "hello", "dQw4w9WgXcQQ", "https://vimeo.com/123456789", "https://www.youtube.com/@somechannel",
     "https://www.youtube.com/watch?v=short", "https://www.youtube.com/shorts/"],
)
def test_parse_video_id_rejects_other_text(text: str):
    with pytest.raises(InvalidVideoIdError, match="11-character"):
        parse_video_id(text)


PLAYLIST = "PLx0sYbCqOb8TBPRdmBHs5Iftvv9TPboYG"
CHANNEL = "UCabcdefghijklmnopqrstuv"


@pytest.mark.parametrize(
    ("text", "said"),
    [
        (f"https://www.youtube.com/playlist?list={PLAYLIST}", f"playlist_id={PLAYLIST} to AIVLINGUAL_CHANNELS"),
        (f"www.youtube.com/playlist?list={PLAYLIST}", f"playlist_id={PLAYLIST} to AIVLINGUAL_CHANNELS"),
        (f"https://www.youtube.com/watch?list={PLAYLIST}", f"playlist_id={PLAYLIST} to AIVLINGUAL_CHANNELS"),
        (f"https://www.youtube.com/channel/{CHANNEL}", f"add {CHANNEL} to AIVLINGUAL_CHANNELS"),
        ("https://www.youtube.com/@somechannel/streams", "channel's id (starts with 'UC'"),
        ("youtube.com/c/somechannel", "channel's id (starts with 'UC'"),
        ("https://www.youtube.com/watch?v=short", "names no video"),
        ("https://www.youtube.com/watch", "names no video"),
        ("https://youtu.be/", "names no video"),
    ],
)
def test_a_youtube_url_without_a_video_id_says_so_and_how_to_add_it(text: str, said: str):
    with pytest.raises(YouTubeUrlWithoutVideoIdError) as error:
        recording_from_source(text)  # what `aivlingual process` calls
    message = str(error.value)
    assert "YouTube URL without a video id" in message and said in message
    assert "unsupported extension" not in message and "https:/www" not in message


def test_the_playlist_advice_names_a_feed_the_channel_sensor_accepts():
    with pytest.raises(YouTubeUrlWithoutVideoIdError) as error:
        parse_video_id(f"https://www.youtube.com/playlist?list={PLAYLIST}")
    advised = re.search(r"(https://\S+feeds/videos\.xml\?playlist_id=\S+)", str(error.value)).group(1)
    assert feed_url(advised) == advised


def test_recording_from_source_reads_files_ids_and_urls(tmp_path: Path):
    subtitle = tmp_path / "talk.ja.srt"
    subtitle.write_text(SRT, encoding="utf-8")
    assert recording_from_source(str(subtitle)).subtitle_path == str(subtitle)
    assert recording_from_source("dQw4w9WgXcQ").partition_key == "yt-dQw4w9WgXcQ"
    assert recording_from_source(f"https://youtu.be/dQw4w9WgXcQ?list={PLAYLIST}").partition_key == "yt-dQw4w9WgXcQ"
    with pytest.raises(InvalidVideoIdError, match="Cannot find a YouTube video id in 'https://vimeo.com/123'"):
        recording_from_source("https://vimeo.com/123")
    with pytest.raises(MissingFileError):
        recording_from_source(str(tmp_path / "gone.mp4"))


def test_recording_from_youtube():
    recording = recording_from_youtube("https://youtu.be/dQw4w9WgXcQ", title="歌枠", channel="ここあ Ch.")
    assert recording == Recording(
        partition_key="yt-dQw4w9WgXcQ",
        source="youtube",
        title="歌枠",
        channel="ここあ Ch.",
        url="https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        video_id="dQw4w9WgXcQ",
    )
    assert recording_from_youtube("dQw4w9WgXcQ").title  # a default title, never empty
    assert timestamp_url(recording, 125.7) == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=125s"
    assert timestamp_url(recording, -3) == "https://www.youtube.com/watch?v=dQw4w9WgXcQ&t=0s"


def test_timestamp_url_for_local_media(tmp_path: Path, clip: Path):
    media = Path(shutil.copy(clip, tmp_path / "配信 1.mp4"))
    url = timestamp_url(recording_from_path(media), 12.5)
    assert url == media.absolute().as_uri() + "#t=12.5"


def test_file_name_helpers():
    assert subtitle_language("a.ja.srt") == "ja" and subtitle_language("a.en-US.vtt") == "en-US"
    assert subtitle_language("a.srt") is None and subtitle_language("my.video.srt") is None
    assert pairing_stem("sample_stream.ja.srt") == "sample_stream"
    assert pairing_stem("sample.stream.mp4") == "sample.stream"


def test_a_corrupt_media_file_does_not_block_its_good_subtitle(tmp_path: Path, caplog):
    media = tmp_path / "stream.mp4"
    media.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 8)  # a header, then garbage
    subtitle = tmp_path / "stream.ja.srt"
    subtitle.write_text(SRT, encoding="utf-8")
    with caplog.at_level("WARNING"):
        from_media, from_subtitle = recording_from_path(media), recording_from_path(subtitle)
    assert from_media == from_subtitle
    assert from_media.path is None and from_media.subtitle_path == str(subtitle)
    assert from_media.duration_seconds == 7.25 and from_media.language == "ja" and from_media.title == "stream"
    assert from_media.partition_key == "file-" + hashlib.sha256(subtitle.read_bytes()).hexdigest()[:12]
    assert "stream.mp4 cannot be read" in from_media.warning and "stream.ja.srt alone" in from_media.warning
    assert from_media.warning in caplog.text


def test_a_corrupt_media_file_alone_is_still_a_media_error(tmp_path: Path):
    media = tmp_path / "stream.mp4"
    media.write_bytes(bytes(range(256)) * 8)
    with pytest.raises(MediaError, match="stream.mp4"):
        recording_from_path(media)


def test_a_subtitle_only_recording_with_a_cue_at_99999_hours_has_an_unknown_length_and_a_warning(tmp_path: Path):
    subtitle = tmp_path / "talk.srt"
    subtitle.write_text(SRT + "\n3\n99999:00:00,000 --> 99999:00:05,000\nおわり\n", encoding="utf-8")
    recording = recording_from_path(subtitle)
    assert recording.duration_seconds is None  # not an 11-year recording
    assert "talk.srt: 1 cue(s) end later than any stream lasts" in recording.warning
    assert "99999:00:05" in recording.warning


def test_a_subtitle_over_the_size_limit_is_refused_when_the_recording_is_added(tmp_path: Path, clip: Path,
                                                                             monkeypatch):
    from aivlingual_assets.ingestion.errors import SubtitleTooLargeError

    media = shutil.copy(clip, tmp_path / "talk.mp4")
    (tmp_path / "talk.ja.srt").write_text(SRT * 20, encoding="utf-8")
    monkeypatch.setenv("AIVLINGUAL_MAX_SUBTITLE_MB", "0.001")
    with pytest.raises(SubtitleTooLargeError, match="talk.ja.srt"):
        recording_from_path(media)  # the media alone would be fine: the pair is refused up front
