"""What the Wayland compositor says about colour: a tiny client over libwayland-client (ctypes).

HDR passthrough needs a compositor that takes an HDR image description for the video surface
(``wp_color_manager_v1``, wayland-protocols' colour-management-v1) and a display that shows it.
Both are only known by asking the compositor, so this connects once to ``$WAYLAND_DISPLAY``
(its own connection: Qt's is busy with the UI, and the answer is the same for every client),
binds the registry's ``wp_color_manager_v1`` and ``wl_output`` globals and reads, in three
round trips (a few ms):

* the colour manager's features (``parametric`` ...), named transfer functions and primaries
  (what ``wp_image_description_creator_params_v1`` accepts: waylandsink 1.28 uses exactly that);
* for each output, its image description (``get_output`` → ``get_image_description`` →
  ``get_information``): transfer function, primaries, luminances. An output in PQ or HLG mode
  (or with peak luminance well above its reference white) is an HDR display.

No binding generator or extra package: libwayland-client exports ``wl_registry_interface`` and
``wl_output_interface``, the colour interfaces are described here (``wl_interface`` tables with
the protocol's message signatures), requests go through ``wl_proxy_marshal_array_flags``
(libwayland >= 1.20) and events through ctypes callbacks.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

COLOR_MANAGER = "wp_color_manager_v1"

FEATURES = {
    0: "icc_v2_v4",
    1: "parametric",
    2: "set_primaries",
    3: "set_tf_power",
    4: "set_luminances",
    5: "set_mastering_display_primaries",
    6: "extended_target_volume",
    7: "windows_scrgb",
}
TRANSFER_FUNCTIONS = {
    1: "bt1886",
    2: "gamma22",
    3: "gamma28",
    4: "st240",
    5: "ext_linear",
    6: "log_100",
    7: "log_316",
    8: "xvycc",
    9: "srgb",
    10: "ext_srgb",
    11: "st2084_pq",
    12: "st428",
    13: "hlg",
}
PRIMARIES = {
    1: "srgb",
    2: "pal_m",
    3: "pal",
    4: "ntsc",
    5: "generic_film",
    6: "bt2020",
    7: "cie1931_xyz",
    8: "dci_p3",
    9: "display_p3",
    10: "adobe_rgb",
}
HDR_TRANSFERS = frozenset({"st2084_pq", "hlg"})
HEADROOM = 1.5
"""An output whose peak is this many times its reference white shows highlights above SDR white
(an HDR display driven in a non-PQ encoding, e.g. KDE's extended-range sRGB)."""


class ProbeError(RuntimeError):
    """No answer from the compositor (no libwayland-client, no display to connect to)."""


@dataclass(frozen=True)
class OutputColor:
    """One output's image description (``wp_image_description_info_v1``)."""

    transfer: str = ""
    """Named transfer function (``st2084_pq``, ``gamma22`` ...); empty: power curve or ICC."""
    primaries: str = ""
    min_nits: float = 0.0
    max_nits: float = 0.0
    reference_nits: float = 0.0
    target_max_nits: float = 0.0
    failed: str = ""
    """Why the compositor gave no description for this output (``failed`` event)."""

    @property
    def hdr(self) -> bool:
        if self.transfer in HDR_TRANSFERS:
            return True
        peak = self.target_max_nits or self.max_nits
        return bool(self.reference_nits) and peak >= HEADROOM * self.reference_nits

    def describe(self) -> str:
        if self.failed:
            return f"no image description ({self.failed})"
        names = {"st2084_pq": "PQ", "hlg": "HLG", "gamma22": "gamma 2.2", "srgb": "sRGB"}
        parts = [
            names.get(self.transfer, self.transfer or "custom transfer"),
            {"bt2020": "BT.2020", "srgb": "BT.709"}.get(self.primaries, self.primaries or "custom"),
        ]
        if self.max_nits:
            peak = self.target_max_nits or self.max_nits
            parts.append(f"peak {peak:g} nits, reference white {self.reference_nits:g}")
        return ", ".join(parts)


@dataclass(frozen=True)
class CompositorColor:
    """What the compositor offers for colour (empty sets and version 0: no colour management)."""

    globals: frozenset[str] = frozenset()
    """Every global interface the registry announced (shows the probe really talked to it)."""
    version: int = 0
    """``wp_color_manager_v1``'s version; 0: the global is absent."""
    features: frozenset[str] = frozenset()
    transfers: frozenset[str] = frozenset()
    primaries: frozenset[str] = frozenset()
    outputs: tuple[OutputColor, ...] = ()


# --- libwayland-client through ctypes ------------------------------------------------------


class _Message(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("signature", ctypes.c_char_p),
        ("types", ctypes.POINTER(ctypes.c_void_p)),
    ]


class _Interface(ctypes.Structure):
    _fields_ = [
        ("name", ctypes.c_char_p),
        ("version", ctypes.c_int),
        ("method_count", ctypes.c_int),
        ("methods", ctypes.POINTER(_Message)),
        ("event_count", ctypes.c_int),
        ("events", ctypes.POINTER(_Message)),
    ]


class _Argument(ctypes.Union):
    """``union wl_argument``."""

    _fields_ = [("i", ctypes.c_int32), ("u", ctypes.c_uint32), ("p", ctypes.c_void_p)]


_NULL_TYPES = (ctypes.c_void_p * 8)()
"""Types of messages without object arguments: eight NULLs (the longest signature has 8)."""


class _Protocol:
    """The colour-management-v1 interfaces this probe uses (requests up to the ones it sends,
    every event: libwayland checks an event's opcode against ``event_count``)."""

    def __init__(self, output_interface: ctypes.c_void_p) -> None:
        self._keep: list[Any] = []
        self.info = self._interface(
            "wp_image_description_info_v1",
            [],
            [
                ("done", ""),
                ("icc_file", "hu"),
                ("primaries", "iiiiiiii"),
                ("primaries_named", "u"),
                ("tf_power", "u"),
                ("tf_named", "u"),
                ("luminances", "uuu"),
                ("target_primaries", "iiiiiiii"),
                ("target_luminance", "uu"),
                ("target_max_cll", "u"),
                ("target_max_fall", "u"),
            ],
        )
        self.description = self._interface(
            "wp_image_description_v1",
            [("destroy", ""), ("get_information", "n", [self.info])],
            [("failed", "us"), ("ready", "u")],
        )
        self.output = self._interface(
            "wp_color_management_output_v1",
            [("destroy", ""), ("get_image_description", "n", [self.description])],
            [("image_description_changed", "")],
        )
        self.manager = self._interface(
            COLOR_MANAGER,
            [("destroy", ""), ("get_output", "no", [self.output, output_interface])],
            [
                ("supported_intent", "u"),
                ("supported_feature", "u"),
                ("supported_tf_named", "u"),
                ("supported_primaries_named", "u"),
                ("done", ""),
            ],
        )

    def _messages(self, specs: Sequence[tuple[Any, ...]]) -> Any:
        array = (_Message * max(len(specs), 1))()
        for i, spec in enumerate(specs):
            name, signature = spec[0], spec[1]
            if len(spec) > 2:
                types = (ctypes.c_void_p * 8)(*[ctypes.cast(t, ctypes.c_void_p) for t in spec[2]])
                self._keep.append(types)
            else:
                types = _NULL_TYPES
            array[i] = _Message(name.encode(), signature.encode(), types)
        self._keep.append(array)
        return array

    def _interface(
        self, name: str, requests: Sequence[tuple[Any, ...]], events: Sequence[tuple[Any, ...]]
    ) -> Any:
        made = _Interface(
            name.encode(),
            1,
            len(requests),
            self._messages(requests),
            len(events),
            self._messages(events),
        )
        self._keep.append(made)
        return ctypes.pointer(made)


def _library() -> ctypes.CDLL:
    path = ctypes.util.find_library("wayland-client") or "libwayland-client.so.0"
    try:
        lib = ctypes.CDLL(path)
    except OSError as exc:
        raise ProbeError(f"{exc} (install libwayland-client0)") from exc
    vp, u32 = ctypes.c_void_p, ctypes.c_uint32
    for name, restype, argtypes in (
        ("wl_display_connect", vp, [ctypes.c_char_p]),
        ("wl_display_disconnect", None, [vp]),
        ("wl_display_roundtrip", ctypes.c_int, [vp]),
        ("wl_display_get_error", ctypes.c_int, [vp]),
        ("wl_proxy_marshal_array_flags", vp, [vp, u32, vp, u32, u32, ctypes.POINTER(_Argument)]),
        ("wl_proxy_add_listener", ctypes.c_int, [vp, vp, vp]),
        ("wl_proxy_get_version", u32, [vp]),
        ("wl_proxy_destroy", None, [vp]),
    ):
        try:
            function = getattr(lib, name)
        except AttributeError as exc:  # libwayland < 1.20 (Debian 11) has no *_flags calls
            raise ProbeError(f"{path} has no {name} (libwayland-client >= 1.20 needed)") from exc
        function.restype = restype
        function.argtypes = argtypes
    return lib


_U = ctypes.c_uint32
_I = ctypes.c_int32
_VP = ctypes.c_void_p


def _callback(*argtypes: Any) -> Any:
    """A listener slot: ``void (*)(void *data, struct wl_proxy *, ...)``."""
    return ctypes.CFUNCTYPE(None, _VP, _VP, *argtypes)


@dataclass
class _Collected:
    globals: dict[str, tuple[int, int]] = field(default_factory=dict)
    outputs: list[int] = field(default_factory=list)
    features: set[str] = field(default_factory=set)
    transfers: set[str] = field(default_factory=set)
    primaries: set[str] = field(default_factory=set)


class _Client:
    def __init__(self, lib: ctypes.CDLL, display: int) -> None:
        self.lib = lib
        self.display = display
        self.keep: list[Any] = []
        # the symbols are the structs themselves: their addresses are the interfaces
        self.registry_interface = ctypes.addressof(_VP.in_dll(lib, "wl_registry_interface"))
        self.output_interface = ctypes.c_void_p(
            ctypes.addressof(_VP.in_dll(lib, "wl_output_interface"))
        )
        self.protocol = _Protocol(self.output_interface)

    def request(
        self, proxy: int, opcode: int, interface: Any, version: int, args: Sequence[int]
    ) -> int:
        """A request; for one that makes an object, the new proxy (its ``n`` slot is NULL)."""
        array = (_Argument * max(len(args), 1))()
        for i, value in enumerate(args):
            array[i].p = value
        made = self.lib.wl_proxy_marshal_array_flags(
            ctypes.c_void_p(proxy),
            opcode,
            ctypes.cast(interface, ctypes.c_void_p) if interface is not None else None,
            version,
            0,
            array,
        )
        return int(made or 0)

    def listen(self, proxy: int, slots: Sequence[Any]) -> None:
        table = (ctypes.c_void_p * len(slots))(
            *[ctypes.cast(slot, ctypes.c_void_p) for slot in slots]
        )
        self.keep.extend([*slots, table])
        self.lib.wl_proxy_add_listener(ctypes.c_void_p(proxy), table, None)

    def roundtrip(self) -> None:
        if self.lib.wl_display_roundtrip(ctypes.c_void_p(self.display)) < 0:
            code = self.lib.wl_display_get_error(ctypes.c_void_p(self.display))
            raise ProbeError(f"the Wayland connection failed: {os.strerror(code)}")


def _bind(client: _Client, registry: int, name: int, interface: Any, version: int) -> int:
    """``wl_registry.bind``: its signature ``usun`` (name, interface name, version, new id)."""
    iface = ctypes.cast(interface, ctypes.POINTER(_Interface)).contents
    name_arg = ctypes.c_char_p(iface.name)
    client.keep.append(name_arg)
    array = (_Argument * 4)()
    array[0].u = name
    array[1].p = ctypes.cast(name_arg, ctypes.c_void_p).value
    array[2].u = version
    array[3].p = None
    made = client.lib.wl_proxy_marshal_array_flags(
        ctypes.c_void_p(registry), 0, ctypes.cast(interface, ctypes.c_void_p), version, 0, array
    )
    return int(made or 0)


def _output_description(client: _Client, manager: int, output: int) -> OutputColor:
    protocol = client.protocol
    per_output = client.request(manager, 1, protocol.output, 1, [0, output])
    description = client.request(per_output, 1, protocol.description, 1, [0])
    state: dict[str, Any] = {}

    def failed(_d: int, _p: int, cause: int, message: bytes | None) -> None:
        causes = {0: "low_version", 1: "unsupported", 2: "operating_system", 3: "no_output"}
        state["failed"] = f"{causes.get(cause, cause)}: {(message or b'').decode(errors='replace')}"

    def ready(_d: int, _p: int, _identity: int) -> None:
        state["ready"] = True

    client.listen(description, [_callback(_U, ctypes.c_char_p)(failed), _callback(_U)(ready)])
    client.roundtrip()
    if "ready" not in state:
        return OutputColor(failed=state.get("failed", "no answer"))
    info = client.request(description, 1, protocol.info, 1, [0])

    def set_value(key: str, table: dict[int, str] | None = None) -> Callable[..., None]:
        def slot(_d: int, _p: int, value: int) -> None:
            state[key] = table.get(value, str(value)) if table else value

        return slot

    def luminances(_d: int, _p: int, low: int, high: int, reference: int) -> None:
        state["lum"] = (low / 10000.0, float(high), float(reference))

    def target(_d: int, _p: int, _low: int, high: int) -> None:
        state["target"] = float(high)

    def icc(_d: int, _p: int, fd: int, _size: int) -> None:
        os.close(fd)  # an ICC profile: not read here (the transfer stays "" = custom)

    def ignore(*_args: Any) -> None:
        return None

    client.listen(
        info,
        [
            _callback()(ignore),  # done (the object is destroyed by libwayland's destructor)
            _callback(_I, _U)(icc),
            _callback(*[_I] * 8)(ignore),  # primaries as chromaticities
            _callback(_U)(set_value("primaries", PRIMARIES)),
            _callback(_U)(ignore),  # tf_power
            _callback(_U)(set_value("transfer", TRANSFER_FUNCTIONS)),
            _callback(_U, _U, _U)(luminances),
            _callback(*[_I] * 8)(ignore),  # target primaries
            _callback(_U, _U)(target),
            _callback(_U)(ignore),  # target_max_cll
            _callback(_U)(ignore),  # target_max_fall
        ],
    )
    client.roundtrip()
    client.lib.wl_proxy_destroy(ctypes.c_void_p(info))  # after its done event (a destructor)
    client.request(description, 0, None, 1, [])  # destroy
    client.lib.wl_proxy_destroy(ctypes.c_void_p(description))
    client.request(per_output, 0, None, 1, [])
    client.lib.wl_proxy_destroy(ctypes.c_void_p(per_output))
    low, high, reference = state.get("lum", (0.0, 0.0, 0.0))
    return OutputColor(
        transfer=str(state.get("transfer", "")),
        primaries=str(state.get("primaries", "")),
        min_nits=low,
        max_nits=high,
        reference_nits=reference,
        target_max_nits=float(state.get("target", 0.0)),
    )


def probe(display_name: str | None = None) -> CompositorColor:
    """Ask the compositor at ``display_name`` (default ``$WAYLAND_DISPLAY``)."""
    lib = _library()
    display = lib.wl_display_connect(display_name.encode() if display_name else None)
    if not display:
        shown = display_name or os.environ.get("WAYLAND_DISPLAY", "wayland-0")
        raise ProbeError(f"cannot connect to the Wayland display {shown!r}")
    try:
        return _probe(_Client(lib, int(display)))
    finally:
        lib.wl_display_disconnect(ctypes.c_void_p(display))


def _probe(client: _Client) -> CompositorColor:
    found = _Collected()
    registry = client.request(client.display, 1, client.registry_interface, 1, [0])  # get_registry

    def on_global(_d: int, _p: int, name: int, interface: bytes, version: int) -> None:
        text = interface.decode()
        found.globals.setdefault(text, (name, version))
        if text == "wl_output":
            found.outputs.append(name)

    def on_remove(_d: int, _p: int, _name: int) -> None:
        return None

    client.listen(
        registry, [_callback(_U, ctypes.c_char_p, _U)(on_global), _callback(_U)(on_remove)]
    )
    client.roundtrip()
    names = frozenset(found.globals)
    if COLOR_MANAGER not in found.globals:
        return CompositorColor(globals=names)
    name, version = found.globals[COLOR_MANAGER]
    manager = _bind(client, registry, name, client.protocol.manager, 1)

    def add(target: set[str], table: dict[int, str]) -> Callable[..., None]:
        def slot(_d: int, _p: int, value: int) -> None:
            target.add(table.get(value, str(value)))

        return slot

    def ignore(*_args: Any) -> None:
        return None

    client.listen(
        manager,
        [
            _callback(_U)(ignore),  # supported_intent
            _callback(_U)(add(found.features, FEATURES)),
            _callback(_U)(add(found.transfers, TRANSFER_FUNCTIONS)),
            _callback(_U)(add(found.primaries, PRIMARIES)),
            _callback()(ignore),  # done
        ],
    )
    outputs = [
        _bind(client, registry, output, client.output_interface, 1) for output in found.outputs
    ]
    client.roundtrip()
    described = tuple(_output_description(client, manager, output) for output in outputs)
    return CompositorColor(
        globals=names,
        version=version,
        features=frozenset(found.features),
        transfers=frozenset(found.transfers),
        primaries=frozenset(found.primaries),
        outputs=described,
    )
