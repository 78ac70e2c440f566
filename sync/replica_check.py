"""A full check of a replica, run in a child process: ``python -m sync.replica_check PATH``.

LMDB does not checksum its pages and maps the file into memory: a page pointer garbled by a bad
disk or a bad copy can make a read fault the process (SIGBUS/SIGSEGV) instead of raising. The
player therefore never walks a suspicious replica in its own process: when the previous session
using it did not close it (crash, kill, power loss), ``Replica.open`` runs this check in a child
first; exit status 0 is healthy, anything else (an error, or death by a signal) means the
replica is moved aside and rebuilt from a snapshot.
"""

from __future__ import annotations

import sys
from pathlib import Path

import lmdb
import msgspec
import numpy as np

from sync.feed_types import Card, ItemRecord, LibraryInfo
from sync.media_types import WatchStateOut
from sync.offline_queue import decode as decode_action
from sync.replica_format import (
    COL_BYID,
    COL_FACETS,
    COL_IDS,
    DB_NAMES,
    FACET_DTYPE,
    MAX_DBS,
    ImageEntry,
)

DECODERS: dict[str, msgspec.msgpack.Decoder[object]] = {
    "items": msgspec.msgpack.Decoder(ItemRecord),
    "cards": msgspec.msgpack.Decoder(Card),
    "watch": msgspec.msgpack.Decoder(WatchStateOut),
    "libraries": msgspec.msgpack.Decoder(LibraryInfo),
    "images": msgspec.msgpack.Decoder(ImageEntry),
}


def check(path: Path) -> None:
    """Raises on anything wrong; may also die by a signal on a badly damaged file."""
    env = lmdb.open(str(path), readonly=True, max_dbs=MAX_DBS, subdir=True)
    try:
        with env.begin(buffers=True) as txn:
            handles = {name: env.open_db(name.encode(), txn=txn, create=False) for name in DB_NAMES}
            counts = {}
            for name, db in handles.items():
                n = 0
                decoder = DECODERS.get(name)
                for key, value in txn.cursor(db=db):
                    if decoder is not None:
                        decoder.decode(value)
                    elif name == "queue":
                        decode_action(value)
                    elif name in ("children", "order") and len(value) % (
                        16 if name == "children" else 4
                    ):
                        raise ValueError(f"{name} {bytes(key)!r}: odd length {len(value)}")
                    n += 1
                counts[name] = n
            cols = handles["cols"]
            ids = txn.get(COL_IDS, db=cols)
            rows = 0 if ids is None else len(ids) // 16
            facets = txn.get(COL_FACETS, db=cols)
            if rows != counts["items"] or rows != counts["cards"]:
                raise ValueError(f"{rows} rows, {counts['items']} items, {counts['cards']} cards")
            if rows and (facets is None or len(facets) != rows * FACET_DTYPE.itemsize):
                raise ValueError("facets do not match the rows")
            byid = txn.get(COL_BYID, db=cols)
            if rows and (byid is None or len(byid) != rows * 16):
                raise ValueError("id index does not match the rows")
            for _, value in txn.cursor(db=handles["order"]):
                order = np.frombuffer(value, np.uint32)
                if order.size and int(order.max()) >= rows:
                    raise ValueError("a sorted list names a row that does not exist")
    finally:
        env.close()


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m sync.replica_check PATH", file=sys.stderr)
        return 2
    try:
        check(Path(argv[0]))
    except (lmdb.Error, msgspec.DecodeError, ValueError, OSError) as exc:
        print(f"replica damaged: {type(exc).__name__}: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
