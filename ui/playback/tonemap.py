"""HDR10 (PQ) and HLG to SDR BT.709 on the GPU: one GL filter shared by the player and
``ferrex-player snapshot``, so a snapshot shows exactly what the window shows.

The chain is ``videoconvert ! glupload ! glcolorconvert ! glshader ! gldownload``. videoconvert
applies the BT.2020 non-constant-luminance YCbCr matrix into 16-bit RGB (ARGB64; no transfer or
gamut change: the caps keep ``bt2100-pq``/``bt2100-hlg``). It is done there, not by uploading
P010 to glcolorconvert, because glcolorconvert in GStreamer 1.22 knows only the BT.601 and BT.709
matrices and would decode BT.2020 with the BT.601 one (green shifted, saturated colours clipped).
glcolorconvert then hands the shader an RGBA texture (8 bits a channel in 1.22's glshader, the one
precision loss of this path), and the fragment shader below does the rest in linear light:

1. EOTF: PQ (SMPTE ST 2084) to nits; HLG (ARIB STD-B67) inverse OETF + OOTF (system gamma 1.2,
   1000 nit display), in units of 100 nits (SDR reference white = 1.0);
2. BT.2020 to BT.709 primaries (the same 3x3 matrix zimg uses);
3. optional highlight desaturation above ``desat`` (ffmpeg's ``tonemap`` rule);
4. Hable's filmic curve on the brightest component, normalised by the content's peak (MaxCLL,
   else the mastering display's maximum, else 1000 nits), scaling R, G and B by one factor so hues
   keep their ratios;
5. BT.709 OETF.

This is the same model as ffmpeg's ``zscale=t=linear:npl=100,zscale=p=bt709,tonemap=hable,
zscale=t=bt709`` reference, which the tests compare against. SDR streams go through with
``mode=0`` (texture sampled unchanged). The uniforms follow the caps of every stream (a pad probe
on the bin's sink), so one filter serves a playlist of mixed files.
"""

from __future__ import annotations

import itertools
import os
import re
from dataclasses import dataclass

from ui.playback.gst import Gst, element, has_element

DEFAULT_PEAK_NITS = 1000.0
REFERENCE_WHITE_NITS = 100.0
DEFAULT_DESAT = 2.0
"""Luminance (x100 nits) above which highlights are pulled toward grey, as ffmpeg's default; on
grey content it changes nothing."""

MODE_SDR, MODE_PQ, MODE_HLG = 0, 1, 2
RGB_FORMATS = "ARGB64,RGBA"
"""What videoconvert may hand glupload: 16-bit RGB for 10/12-bit sources, RGBA for 8-bit."""

FRAGMENT = """
#ifdef GL_ES
precision highp float;
#endif
varying vec2 v_texcoord;
uniform sampler2D tex;
uniform int mode;
uniform float peak;
uniform float desat;

vec3 pq_eotf(vec3 e) {
    const float m1 = 0.1593017578125;
    const float m2 = 78.84375;
    const float c1 = 0.8359375;
    const float c2 = 18.8515625;
    const float c3 = 18.6875;
    vec3 p = pow(clamp(e, 0.0, 1.0), vec3(1.0 / m2));
    vec3 l = pow(max(p - c1, 0.0) / (c2 - c3 * p), vec3(1.0 / m1));
    return l * 100.0;
}

float hlg_inv(float e) {
    const float a = 0.17883277;
    const float b = 0.28466892;
    const float c = 0.55991073;
    return e <= 0.5 ? e * e / 3.0 : (exp((e - c) / a) + b) / 12.0;
}

vec3 hlg_eotf(vec3 e) {
    e = clamp(e, 0.0, 1.0);
    vec3 s = vec3(hlg_inv(e.r), hlg_inv(e.g), hlg_inv(e.b));
    float ys = dot(s, vec3(0.2627, 0.6780, 0.0593));
    return s * pow(max(ys, 1e-6), 0.2) * 10.0;
}

float hable(float x) {
    const float a = 0.15;
    const float b = 0.50;
    const float c = 0.10;
    const float d = 0.20;
    const float e = 0.02;
    const float f = 0.30;
    return (x * (x * a + b * c) + d * e) / (x * (x * a + b) + d * f) - e / f;
}

float bt709_oetf(float l) {
    return l < 0.018 ? 4.5 * l : 1.099 * pow(l, 0.45) - 0.099;
}

void main() {
    vec4 px = texture2D(tex, v_texcoord);
    if (mode == 0) {
        gl_FragColor = px;
        return;
    }
    vec3 lin = mode == 1 ? pq_eotf(px.rgb) : hlg_eotf(px.rgb);
    lin = vec3(
        dot(lin, vec3(1.6604910, -0.5876411, -0.0728499)),
        dot(lin, vec3(-0.1245505, 1.1328999, -0.0083494)),
        dot(lin, vec3(-0.0181508, -0.1005789, 1.1187297)));
    if (desat > 0.0) {
        float luma = dot(lin, vec3(0.2126, 0.7152, 0.0722));
        float over = max(luma - desat, 1e-6) / max(luma, 1e-6);
        lin = mix(lin, vec3(luma), over);
    }
    float sig = max(max(max(lin.r, lin.g), lin.b), 1e-6);
    lin *= (hable(sig) / hable(peak)) / sig;
    lin = clamp(lin, 0.0, 1.0);
    gl_FragColor = vec4(bt709_oetf(lin.r), bt709_oetf(lin.g), bt709_oetf(lin.b), px.a);
}
"""


@dataclass(frozen=True)
class ToneMapParams:
    """The shader's inputs for one stream, read from its caps."""

    mode: int
    peak_nits: float
    desat: float = DEFAULT_DESAT

    @property
    def label(self) -> str:
        return {MODE_SDR: "SDR", MODE_PQ: "PQ", MODE_HLG: "HLG"}[self.mode]

    def describe(self) -> str:
        if self.mode == MODE_SDR:
            return "SDR (unchanged)"
        return (
            f"{self.label} tone-mapped to SDR BT.709 (Hable, peak {self.peak_nits:.0f} nits, "
            f"desaturation above {self.desat * REFERENCE_WHITE_NITS:.0f} nits)"
            if self.desat > 0
            else f"{self.label} tone-mapped to SDR BT.709 (Hable, peak {self.peak_nits:.0f} nits)"
        )


def _content_light_max(value: str | None) -> float | None:
    """``content-light-level`` is ``"MaxCLL:MaxFALL"`` (nits); 0 means unknown."""
    if not value:
        return None
    head = value.split(":")[0]
    return float(head) if head.isdigit() and int(head) > 0 else None


def _mastering_max(value: str | None) -> float | None:
    """``mastering-display-info`` ends with max and min luminance in 0.0001 nit units
    (``"Rx:Ry:Gx:Gy:Bx:By:Wx:Wy:max:min"``)."""
    if not value:
        return None
    parts = value.split(":")
    if len(parts) != 10 or not parts[8].isdigit() or int(parts[8]) <= 0:
        return None
    return int(parts[8]) / 10000.0


def params_for(
    colorimetry: str,
    mastering: str | None = None,
    content_light: str | None = None,
    *,
    desat: float = DEFAULT_DESAT,
) -> ToneMapParams:
    """Mode and peak for a stream's caps: MaxCLL, else the mastering display's peak, else
    1000 nits (as ffmpeg's tonemap picks its peak)."""
    if re.search(r"pq|smpte2084|:14:", colorimetry) or colorimetry.endswith(":14"):
        mode = MODE_PQ
    elif re.search(r"hlg|arib-std-b67|:18:", colorimetry) or colorimetry.endswith(":18"):
        mode = MODE_HLG
    else:
        return ToneMapParams(MODE_SDR, DEFAULT_PEAK_NITS, desat)
    peak = _content_light_max(content_light) or _mastering_max(mastering) or DEFAULT_PEAK_NITS
    return ToneMapParams(mode, peak, desat)


def params_from_caps(caps: Gst.Caps, *, desat: float = DEFAULT_DESAT) -> ToneMapParams:
    s = caps.get_structure(0)
    return params_for(
        s.get_string("colorimetry") or "",
        s.get_string("mastering-display-info"),
        s.get_string("content-light-level"),
        desat=desat,
    )


def uniforms(params: ToneMapParams) -> Gst.Structure:
    peak = max(params.peak_nits / REFERENCE_WHITE_NITS, 1.0)
    text = (
        f"uniforms, mode=(int){params.mode}, peak=(float){peak:.6f}, "
        f"desat=(float){params.desat:.6f}"
    )
    made = Gst.Structure.new_from_string(text)
    if made is None:
        raise ValueError(text)
    return made


def available() -> bool:
    """Whether the GL elements are installed (gstreamer1.0-gl); the caller falls back to the
    plain conversion when not."""
    return all(
        has_element(f)
        for f in ("glupload", "glcolorconvert", "glshader", "gldownload", "videoconvert")
    )


_GL_FRAGMENT_SHADER = 0x8B30


def _create_shader(filt: Gst.Element) -> object:
    """glshader's ``create-shader`` (GL thread): the fragment is compiled at the same GLSL
    version and profile as GStreamer's default vertex stage for this context (desktop GL core,
    compatibility or GLES), GstGL rewriting ``texture2D``/``varying``/``gl_FragColor`` as that
    version needs; a plain ``fragment`` property would be compiled at GLSL 1.10 and fail to
    link with a core-profile vertex stage."""
    import gi

    gi.require_version("GstGL", "1.0")
    from gi.repository import GstGL

    context = filt.get_property("context")
    vertex = GstGL.GLSLStage.new_default_vertex(context)
    fragment = GstGL.GLSLStage.new_with_string(
        context, _GL_FRAGMENT_SHADER, vertex.get_version(), vertex.get_profile(), FRAGMENT
    )
    shader = GstGL.GLShader.new(context)
    for stage in (vertex, fragment):
        shader.compile_attach_stage(stage)
    shader.link()
    return shader


CONVERT_THREADS = max(1, min(8, os.cpu_count() or 1))
"""Threads for the CPU conversions, which, not the shader, are what a frame costs (bench/README.md,
tonemap: on an H100 a 4K HDR10 frame took 90 ms with every conversion on one thread, too slow for
24 fps). GStreamer 1.22's videoconvert is wrong when threaded straight from I420_10LE to ARGB64:
frames differ from the one-thread result and, at small sizes, from run to run (the chroma
upsampling is what breaks; tests/test_tonemap.py's reference comparison failed 2-3 runs in 3).
So the input is converted in two steps: chroma upsampling to AYUV64 on one thread, then the
matrix to ARGB64 on these threads, the two in their own streaming threads (a one-frame queue
between them). Both steps threaded that way give exactly the one-thread bytes (checked at 320x240
and 1080p, 2-8 threads, 4 runs each)."""

INTERMEDIATE_FORMATS = "AYUV64,AYUV"
"""4:4:4 YUV between the two input steps: 16-bit for 10/12-bit sources, 8-bit otherwise."""


class ToneMapFilter:
    """A ``Gst.Bin`` (``.bin``) tone-mapping whatever passes through, for playbin's
    ``video-filter`` or a snapshot pipeline. ``.params`` is what the last caps asked for."""

    def __init__(
        self,
        *,
        desat: float = DEFAULT_DESAT,
        name: str = "tonemap",
        threads: int | None = None,
        split: bool = True,
    ) -> None:
        self.desat = desat
        threads = threads or CONVERT_THREADS
        self.params = ToneMapParams(MODE_SDR, DEFAULT_PEAK_NITS, desat)
        self.bin = Gst.Bin.new(name)
        repack = element("videoconvert", f"{name}-repack")
        repack.set_property("n-threads", 1)  # see CONVERT_THREADS
        front: tuple[Gst.Element, ...] = (repack,)
        if split and threads > 1:
            yuv = element("capsfilter", f"{name}-yuv444")
            yuv.set_property(
                "caps", Gst.Caps.from_string(f"video/x-raw,format={{{INTERMEDIATE_FORMATS}}}")
            )
            handoff = element("queue", f"{name}-handoff")
            handoff.set_property("max-size-buffers", 1)
            handoff.set_property("max-size-bytes", 0)
            handoff.set_property("max-size-time", 0)
            matrix = element("videoconvert", f"{name}-matrix")
            matrix.set_property("n-threads", threads)
            front = (repack, yuv, handoff, matrix)
        rgb = element("capsfilter", f"{name}-rgb")
        rgb.set_property("caps", Gst.Caps.from_string(f"video/x-raw,format={{{RGB_FORMATS}}}"))
        upload = element("glupload", f"{name}-upload")
        convert = element("glcolorconvert", f"{name}-convert")
        self.shader = element("glshader", f"{name}-shader")
        self.shader.connect("create-shader", _create_shader)
        self.shader.set_property("uniforms", uniforms(self.params))
        download = element("gldownload", f"{name}-download")
        out = element("videoconvert", f"{name}-out")
        out.set_property("n-threads", threads)
        chain = (*front, rgb, upload, convert, self.shader, download, out)
        for part in chain:
            self.bin.add(part)
        for a, b in itertools.pairwise(chain):
            if not a.link(b):
                raise RuntimeError(f"cannot link {a.get_name()} to {b.get_name()}")
        sink_pad = repack.get_static_pad("sink")
        src_pad = out.get_static_pad("src")
        assert sink_pad is not None and src_pad is not None
        self.bin.add_pad(Gst.GhostPad.new("sink", sink_pad))
        self.bin.add_pad(Gst.GhostPad.new("src", src_pad))
        sink_pad.add_probe(Gst.PadProbeType.EVENT_DOWNSTREAM, self._on_event)

    def _on_event(self, _pad: Gst.Pad, info: Gst.PadProbeInfo) -> Gst.PadProbeReturn:
        event = info.get_event()
        if event is not None and event.type == Gst.EventType.CAPS:
            self.params = params_from_caps(event.parse_caps(), desat=self.desat)
            self.shader.set_property("uniforms", uniforms(self.params))
        return Gst.PadProbeReturn.OK


TONE_MAPPED_SOURCES = frozenset({"HDR10", "HLG", "DolbyVision"})
"""What the server calls PQ or HLG streams (Dolby Vision profile 8: its HDR10 base layer)."""


def install(playbin: Gst.Element, source_hdr: str | None, presented: bool) -> bool:
    """Put the tone-mapping filter in playbin's ``video-filter`` slot when the file is HDR and
    the sink shows SDR only (no filter otherwise: SDR files keep the plain path, and a sink that
    presents HDR gets the decoder's frames). True when installed. Call before ``load`` (playbin
    takes a filter only while stopped)."""
    wanted = source_hdr in TONE_MAPPED_SOURCES and not presented and available()
    playbin.set_state(Gst.State.NULL)
    playbin.set_property("video-filter", ToneMapFilter().bin if wanted else None)
    return wanted
