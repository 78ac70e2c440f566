"""The Ferrex appliance: one trio process serving the API and supervising Postgres and Redis."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("ferrex")
except PackageNotFoundError:  # running from a checkout without installing
    __version__ = "0.0.0+checkout"
