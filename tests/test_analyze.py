"""MediaAnalyze's analysis on real files made by ffmpeg (see tests/media_fixtures.py)."""

from __future__ import annotations

import os
import random
import stat
import time
from pathlib import Path
from typing import TYPE_CHECKING

import msgspec
import pytest

from appliance.scan.analyze import AnalysisFailed, analyze
from appliance.scan.probe_json import bit_depth, frame_rate, hdr_format, media_info
from appliance.scan.sidecars import find_sidecar_subtitles, parse_sidecar_tokens
from sync.languages import language_name, normalize_language
from sync.media_info import MediaInfo

if TYPE_CHECKING:  # imported by pytest as a plugin; importing it first defeats assert rewriting
    from tests.media_fixtures import MediaFiles

pytest_plugins = ["tests.media_fixtures"]


# --- real files ---


async def test_sdr_mp4(media_files: MediaFiles) -> None:
    info = await analyze(media_files.sdr_mp4)
    assert info.container == "mov,mp4,m4a,3gp,3g2,mj2"
    assert info.duration_s == pytest.approx(1.0, abs=0.05)
    assert info.size_bytes == media_files.sdr_mp4.stat().st_size
    assert info.bitrate is not None and info.bitrate > 0
    video = info.video
    assert video is not None
    assert (video.index, video.codec, video.width, video.height) == (0, "h264", 320, 240)
    assert (video.frame_rate, video.bit_depth, video.pix_fmt) == (24.0, 8, "yuv420p")
    assert video.hdr == "SDR" and video.mastering_display is None
    [audio] = info.audio
    assert (audio.index, audio.codec, audio.channels, audio.channel_layout) == (
        1,
        "aac",
        2,
        "stereo",
    )
    assert (audio.language, audio.language_tag, audio.default, audio.sample_rate) == (
        "eng",
        "eng",
        True,
        48000,
    )
    [subtitle] = info.subtitles
    assert (subtitle.index, subtitle.codec, subtitle.language, subtitle.external) == (
        2,
        "mov_text",
        "fre",
        False,
    )
    assert info.warnings == []


async def test_hdr10_mkv_reads_mastering_metadata_from_the_first_frame(
    media_files: MediaFiles,
) -> None:
    info = await analyze(media_files.hdr10_mkv)
    assert info.container == "matroska,webm"
    video = info.video
    assert video is not None
    assert (video.codec, video.profile, video.bit_depth, video.pix_fmt) == (
        "hevc",
        "Main 10",
        10,
        "yuv420p10le",
    )
    assert (video.color_primaries, video.color_transfer, video.color_space) == (
        "bt2020",
        "smpte2084",
        "bt2020nc",
    )
    assert video.hdr == "HDR10" and video.hdr_fallback is None and video.dolby_vision is None
    mastering = video.mastering_display
    assert mastering is not None
    # master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)
    assert (mastering.red_x, mastering.red_y) == (0.68, 0.32)
    assert (mastering.green_x, mastering.green_y) == (0.265, 0.69)
    assert (mastering.blue_x, mastering.blue_y) == (0.15, 0.06)
    assert (mastering.white_point_x, mastering.white_point_y) == (0.3127, 0.329)
    assert (mastering.min_luminance, mastering.max_luminance) == (0.0001, 1000.0)
    assert video.content_light is not None
    assert (video.content_light.max_cll, video.content_light.max_fall) == (1000, 400)
    assert info.audio == [] and info.subtitles == []


async def test_hlg_mkv(media_files: MediaFiles) -> None:
    info = await analyze(media_files.hlg_mkv)
    video = info.video
    assert video is not None
    assert (video.codec, video.bit_depth, video.color_transfer) == ("hevc", 10, "arib-std-b67")
    assert video.hdr == "HLG"
    assert video.mastering_display is None and video.content_light is None


async def test_dolby_vision_profile_8_falls_back_to_hdr10(media_files: MediaFiles) -> None:
    info = await analyze(media_files.dv_mp4)
    video = info.video
    assert video is not None
    assert (video.hdr, video.hdr_fallback) == ("DolbyVision", "HDR10")
    dovi = video.dolby_vision
    assert dovi is not None
    assert (dovi.profile, dovi.level, dovi.bl_compat_id) == (8, 4, 1)
    assert (dovi.rpu_present, dovi.el_present, dovi.bl_present) == (True, False, True)


async def test_multi_audio_mkv_with_chapters_and_sidecars(media_files: MediaFiles) -> None:
    info = await analyze(media_files.multi_mkv)
    assert info.title == "Multi"
    assert info.duration_s == pytest.approx(1.0, abs=0.1)
    assert info.video is not None and info.video.codec == "h264"
    english, german = info.audio
    assert (english.index, english.codec, english.channels, english.language) == (
        1,
        "aac",
        2,
        "eng",
    )
    assert (english.title, english.default) == ("English Stereo", False)
    assert (german.index, german.codec, german.channels, german.channel_layout) == (
        2,
        "ac3",
        6,
        "5.1(side)",
    )
    assert (german.language, german.title, german.default) == ("ger", "Deutsch 5.1", True)
    assert [(c.title, c.start_s, c.end_s) for c in info.chapters] == [
        ("Opening", 0.0, 0.5),
        ("Ending", 0.5, 1.0),
    ]

    embedded, *sidecars = info.subtitles
    assert (embedded.index, embedded.codec, embedded.language, embedded.forced) == (
        3,
        "subrip",
        "spa",
        True,
    )
    assert not embedded.external and embedded.path is None
    found = [
        (
            Path(s.path or "").name,
            s.codec,
            s.language,
            s.language_tag,
            s.forced,
            s.hearing_impaired,
            s.external,
        )
        for s in sidecars
    ]
    assert found == [
        ("multi.English.sdh.ass", "ass", "eng", "English", False, True, True),
        ("multi.en.srt", "subrip", "eng", "en", False, False, True),
        ("multi.pt-BR.forced.srt", "subrip", "por", "pt-BR", True, False, True),
        ("multi.vtt", "webvtt", None, None, False, False, True),
    ]


async def test_media_info_round_trips_through_msgspec(media_files: MediaFiles) -> None:
    info = await analyze(media_files.multi_mkv)
    assert msgspec.json.decode(msgspec.json.encode(info), type=MediaInfo) == info


# --- broken inputs: a clear AnalysisFailed, quickly, never anything else ---


@pytest.mark.parametrize(
    ("name", "code", "words"),
    [
        ("empty_mkv", "empty_file", "0 bytes"),
        ("text_mkv", "invalid_data", "Invalid data found"),
        ("truncated_mkv", "truncated", "ended prematurely"),
        ("truncated_mp4", "invalid_data", "moov atom not found"),
    ],
)
async def test_broken_files(media_files: MediaFiles, name: str, code: str, words: str) -> None:
    path: Path = getattr(media_files, name)
    with pytest.raises(AnalysisFailed) as caught:
        await analyze(path, timeout=10)
    assert caught.value.code == code
    assert words in caught.value.reason
    error = caught.value.error
    assert (error.path, error.code) == (str(path), code)


async def test_random_bytes_never_crash(tmp_path: Path) -> None:
    rng = random.Random(3)
    for index, suffix in enumerate([".mkv", ".mp4", ".ts", ".avi", ".m4v", ".webm"]):
        path = tmp_path / f"noise{index}{suffix}"
        path.write_bytes(rng.randbytes(rng.randrange(1, 20_000)))
        try:
            await analyze(path, timeout=10)
        except AnalysisFailed as exc:
            assert exc.code in {"invalid_data", "no_streams", "truncated", "ffprobe_failed"}


async def test_missing_file_directory_and_fifo(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.mkv"
    os.mkfifo(fifo)  # ffprobe would block on it until the deadline
    for path, code in [
        (tmp_path / "gone.mkv", "not_found"),
        (tmp_path, "not_a_file"),
        (fifo, "not_a_file"),
    ]:
        with pytest.raises(AnalysisFailed) as caught:
            await analyze(path, timeout=5)
        assert caught.value.code == code


async def test_missing_ffprobe_names_the_debian_package(media_files: MediaFiles) -> None:
    with pytest.raises(AnalysisFailed) as caught:
        await analyze(media_files.sdr_mp4, ffprobe="/nonexistent/ffprobe")
    assert caught.value.code == "ffprobe_missing"
    assert "'ffmpeg'" in caught.value.reason


async def test_a_hanging_ffprobe_is_killed_at_the_deadline(
    media_files: MediaFiles, tmp_path: Path
) -> None:
    script = tmp_path / "ffprobe"
    script.write_text("#!/bin/sh\nexec sleep 60\n", encoding="utf-8")
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    started = time.monotonic()
    with pytest.raises(AnalysisFailed) as caught:
        await analyze(media_files.sdr_mp4, ffprobe=str(script), timeout=0.5)
    assert caught.value.code == "timeout"
    assert time.monotonic() - started < 3


async def test_unreadable_file(media_files: MediaFiles, tmp_path: Path) -> None:
    path = tmp_path / "locked.mkv"
    path.write_bytes(media_files.hlg_mkv.read_bytes())
    path.chmod(0)
    as_root = os.geteuid() == 0
    if as_root:
        os.seteuid(65534)  # root reads every file; look at it as an ordinary user would
    try:
        with pytest.raises(AnalysisFailed) as caught:
            await analyze(path)
    finally:
        if as_root:
            os.seteuid(0)
    assert caught.value.code == "unreadable"


# --- ffprobe JSON for what no encoder here makes, and the small parsers ---


def _pq_stream(**extra: object) -> dict[str, object]:
    return {
        "index": 0,
        "codec_type": "video",
        "codec_name": "hevc",
        "pix_fmt": "yuv420p10le",
        "color_transfer": "smpte2084",
        **extra,
    }


def test_hdr10_plus_from_dynamic_metadata_on_the_first_frame() -> None:
    frame = {"side_data_list": [{"side_data_type": "HDR Dynamic Metadata SMPTE2094-40 (HDR10+)"}]}
    assert hdr_format(_pq_stream(), frame)[:2] == ("HDR10+", None)
    assert hdr_format(_pq_stream(), {"side_data_list": []})[:2] == ("HDR10", None)


def test_dolby_vision_variants() -> None:
    def record(profile: int, compat: int) -> dict[str, object]:
        return {
            "side_data_list": [
                {
                    "side_data_type": "DOVI configuration record",
                    "dv_profile": profile,
                    "dv_level": 6,
                    "rpu_present_flag": 1,
                    "el_present_flag": 0,
                    "bl_present_flag": 1,
                    "dv_bl_signal_compatibility_id": compat,
                }
            ]
        }

    profile5 = {"index": 0, "codec_type": "video", **record(5, 0)}  # IPT: no transfer
    assert hdr_format(profile5)[:2] == ("DolbyVision", None)
    assert hdr_format(_pq_stream(**record(8, 1)))[:2] == ("DolbyVision", "HDR10")
    hlg = {**_pq_stream(**record(8, 4)), "color_transfer": "arib-std-b67"}
    assert hdr_format(hlg)[:2] == ("DolbyVision", "HLG")
    rpu_only = {"side_data_list": [{"side_data_type": "Dolby Vision RPU Data"}]}
    assert hdr_format(_pq_stream(), rpu_only)[:2] == ("DolbyVision", "HDR10")


def test_stream_level_mastering_metadata_wins_and_quirks_parse() -> None:
    stream = _pq_stream(
        avg_frame_rate="24000/1001",
        tags={"DURATION": "00:01:02.500000000", "BPS": "1234", "LANGUAGE": "und"},
        side_data_list=[
            {
                "side_data_type": "Mastering display metadata",
                "red_x": "35400/50000",
                "max_luminance": "4000/1",
            },
            {
                "side_data_type": "Content light level metadata",
                "max_content": 4000,
                "max_average": 1000,
            },
        ],
    )
    info = media_info({"format": {"duration": "N/A"}, "streams": [stream]})
    assert info.duration_s == 62.5
    video = info.video
    assert video is not None
    assert (video.frame_rate, video.bitrate, video.language) == (23.976, 1234, None)
    assert video.mastering_display is not None
    assert (video.mastering_display.red_x, video.mastering_display.max_luminance) == (0.708, 4000.0)
    assert video.content_light is not None and video.content_light.max_cll == 4000


def test_cover_art_is_not_the_video() -> None:
    cover = {
        "index": 0,
        "codec_type": "video",
        "codec_name": "mjpeg",
        "disposition": {"attached_pic": 1},
    }
    audio = {"index": 1, "codec_type": "audio", "codec_name": "flac", "channels": 2}
    info = media_info({"format": {}, "streams": [cover, audio]})
    assert info.video is None and [a.codec for a in info.audio] == ["flac"]


@pytest.mark.parametrize(
    ("stream", "depth"),
    [
        ({"bits_per_raw_sample": "8", "pix_fmt": "yuv420p"}, 8),
        ({"pix_fmt": "yuv420p10le"}, 10),
        ({"pix_fmt": "yuv422p12be"}, 12),
        ({"pix_fmt": "p010le"}, 10),
        ({"pix_fmt": "yuvj420p"}, 8),
        ({}, None),
    ],
)
def test_bit_depth(stream: dict[str, object], depth: int | None) -> None:
    assert bit_depth(stream) == depth


def test_frame_rate_falls_back_and_treats_zero_as_unknown() -> None:
    assert frame_rate({"avg_frame_rate": "0/0", "r_frame_rate": "25/1"}) == 25.0
    assert frame_rate({"avg_frame_rate": "30000/1001"}) == 29.97
    assert frame_rate({"avg_frame_rate": "0/0", "r_frame_rate": "0/0"}) is None


# --- sidecar names and languages ---


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        # name → (language, language_tag, forced, hearing_impaired, default, title)
        ("Movie.srt", (None, None, False, False, False, None)),
        ("Movie.en.srt", ("eng", "en", False, False, False, None)),
        ("Movie.eng.srt", ("eng", "eng", False, False, False, None)),
        ("Movie.English.srt", ("eng", "English", False, False, False, None)),
        ("Movie.eng.forced.srt", ("eng", "eng", True, False, False, None)),
        ("Movie.pt-BR.srt", ("por", "pt-BR", False, False, False, None)),
        ("Movie.de.sdh.srt", ("ger", "de", False, True, False, None)),
        ("Movie.deu.srt", ("ger", "deu", False, False, False, None)),
        ("Movie.fr.default.ass", ("fre", "fr", False, False, True, None)),
        ("Movie.French.Forced.ssa", ("fre", "French", True, False, False, None)),
        ("Movie.hi.srt", ("hin", "hi", False, False, False, None)),
        ("Movie.en.hi.srt", ("eng", "en", False, True, False, None)),
        ("Movie.en.cc.vtt", ("eng", "en", False, True, False, None)),
        ("Movie.zh-Hans.srt", ("chi", "zh-Hans", False, False, False, None)),
        ("Movie.Deutsch.srt", ("ger", "Deutsch", False, False, False, None)),
        ("Movie.en.Commentary.srt", ("eng", "en", False, False, False, "Commentary")),
        ("movie.EN.SRT", ("eng", "EN", False, False, False, None)),
    ],
)
def test_sidecar_names(name: str, expected: tuple[object, ...]) -> None:
    [track] = find_sidecar_subtitles(Path("/media/Movie.mkv"), [name, "Movie.mkv"])
    got = (
        track.language,
        track.language_tag,
        track.forced,
        track.hearing_impaired,
        track.default,
        track.title,
    )
    assert got == expected
    assert track.external and track.path == f"/media/{name}" and track.index is None


@pytest.mark.parametrize(
    "name",
    [
        "Movie 2.en.srt",
        "Movies.srt",
        "Other.srt",
        ".Movie.en.srt",
        "Movie.en.txt",
        "Movie.nfo",
        "Movie.mkv",
    ],
)
def test_names_that_are_not_sidecars(name: str) -> None:
    assert find_sidecar_subtitles(Path("/media/Movie.mkv"), [name]) == []


def test_sidecars_of_a_name_with_dots_and_an_unreadable_folder(tmp_path: Path) -> None:
    media = Path("/m/Movie.2010.1080p.BluRay.x264-GRP.mkv")
    names = ["Movie.2010.1080p.BluRay.x264-GRP.spa.srt", "Movie.2010.srt"]
    assert [t.language for t in find_sidecar_subtitles(media, names)] == ["spa"]
    assert find_sidecar_subtitles(tmp_path / "missing" / "x.mkv") == []


def test_unknown_tokens_become_the_title() -> None:
    track = parse_sidecar_tokens(["Director", "Commentary", "en"])
    assert (track.language, track.title) == ("eng", "Director Commentary")


@pytest.mark.parametrize(
    ("tag", "code"),
    [
        ("en", "eng"),
        ("eng", "eng"),
        ("English", "eng"),
        ("en-US", "eng"),
        ("EN_gb", "eng"),
        ("de", "ger"),
        ("deu", "ger"),
        ("ger", "ger"),
        ("German", "ger"),
        ("Deutsch", "ger"),
        ("fra", "fre"),
        ("zho", "chi"),
        ("nld", "dut"),
        ("ces", "cze"),
        ("pt-BR", "por"),
        ("Spanish", "spa"),
        ("Castilian", "spa"),
        ("greek", "gre"),
        ("ja", "jpn"),
        ("fil", "fil"),
        ("und", None),
        ("", None),
        (None, None),
        ("xx", None),
        ("Klingonese", None),
    ],
)
def test_normalize_language(tag: str | None, code: str | None) -> None:
    assert normalize_language(tag) == code


def test_language_name() -> None:
    assert [language_name(c) for c in ("ger", "deu", "de", "gre", "und")] == [
        "German",
        "German",
        "German",
        "Modern Greek",
        None,
    ]
