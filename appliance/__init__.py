"""The Ferrex appliance: one trio process serving the API and supervising Postgres and Redis."""

from __future__ import annotations

__version__: str
"""The installed distribution's version, looked up on first use (:func:`__getattr__`)."""


def __getattr__(name: str) -> str:
    """``__version__`` on first use: ``importlib.metadata`` costs ~2.5 MB PSS, and every process
    that imports anything of ``appliance`` pays it, the walk and analysis workers too (issue
    #17), though only the main process ever asks for the version."""
    if name != "__version__":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from importlib.metadata import PackageNotFoundError, version

    try:
        found = version("ferrex")
    except PackageNotFoundError:  # running from a checkout without installing
        found = "0.0.0+checkout"
    globals()["__version__"] = found
    return found
