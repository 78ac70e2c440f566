"""Which symbolic links a walk follows: only those that stay inside the library.

A link is judged by where it really leads (``os.path.realpath``) and by the library root it
lies in:

* it leaves that root (``/proc/<pid>/fd/...``, a share mounted elsewhere, another library's
  folder): not followed, not indexed, and reported as a scan error naming the link, since
  nothing outside a root may be shown (and streaming would refuse it anyway);
* it leads to a folder that the walk reaches anyway (not hidden, not ignored): skipped, so a
  film is indexed once, at its real path, not once per link to it;
* it leads back into a folder the walk is already inside (a loop, also through several links):
  skipped with a warning;
* else (a link into a hidden or ignored folder of the root) it is followed, and whatever is
  found through it is indexed at the link's path, which streams because its real path lies in
  the root.

Runs in the walk's worker processes: plain ``os`` calls, and only for entries that are links
(``DirEntry.is_symlink`` comes from the directory read, no extra system call for the rest).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from appliance.scan import naming

FOLLOW = None
SKIP = ""
"""Not followed and nothing to report: what it leads to is walked at its real path."""


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip("/") + "/")


class LinkJudge:
    def __init__(self, roots: Sequence[str]) -> None:
        # (as the library stores it, real path): a walk's folders start with the former
        self._roots = [(r.rstrip("/") or "/", os.path.realpath(r)) for r in roots]

    def _root_of(self, folder: str) -> tuple[str, str] | None:
        owning = [r for r in self._roots if _inside(folder, r[0])]
        return max(owning, key=lambda r: len(r[0])) if owning else None

    def judge(self, folder: str, name: str, is_dir: bool) -> str | None:
        """``FOLLOW`` (None), ``SKIP`` (""), or the warning to record for the link ``name`` in
        ``folder`` (a path as the walk has it)."""
        root = self._root_of(folder)
        link = os.path.join(folder, name)
        target = os.path.realpath(link)
        if root is None:  # not under a root (a walk without roots): follow as before
            return self._loop(folder, target, None, name) if is_dir else FOLLOW
        stored, real_root = root
        if not _inside(target, real_root):
            return f"symlink leads outside the library root, not indexed: {link} -> {target}"
        if is_dir:
            loop = self._loop(folder, target, stored, name)
            if loop is not FOLLOW:
                return loop
        if self._reached_anyway(target, real_root, is_dir):
            return SKIP
        return FOLLOW

    def skips(self, folder: str, name: str, is_dir: bool, warnings: list[str]) -> bool:
        """Whether the walk leaves the link ``name`` out (:meth:`judge` said skip or warned);
        a warning goes to ``warnings``. One place for what the walk does with a verdict, for
        links to folders and to files alike."""
        verdict = self.judge(folder, name, is_dir)
        if verdict is None:
            return False
        if verdict:
            warnings.append(verdict)
        return True

    @staticmethod
    def _loop(folder: str, target: str, stored_root: str | None, name: str) -> str | None:
        """A loop: the target holds (or is) a folder this walk is inside, found through the
        real paths of ``folder`` and its ancestors up to the root."""
        here = folder.rstrip("/") or "/"
        while True:
            real = os.path.realpath(here)
            if _inside(real, target):
                return f"symlink loop skipped: {name}"
            if stored_root is None or here == stored_root or here == "/":
                return FOLLOW
            here = os.path.dirname(here)

    @staticmethod
    def _reached_anyway(target: str, real_root: str, is_dir: bool) -> bool:
        """Would the plain walk of the root list ``target``? Not when a folder on the way (or
        the file's name) is hidden, an ignored name, or holds a ``.ignore`` file."""
        relative = target[len(real_root) :].strip("/")
        parts = relative.split("/") if relative else []
        folders = parts if is_dir else parts[:-1]
        if (
            not is_dir
            and parts
            and (
                parts[-1].startswith(".")
                or os.path.splitext(parts[-1])[1].lower() not in naming.VIDEO_EXTENSIONS
            )
        ):
            return False
        here = real_root
        for part in folders:
            if part.startswith(".") or part.lower() in naming.IGNORED_DIR_NAMES:
                return False
            here = os.path.join(here, part)
            if os.path.exists(os.path.join(here, ".ignore")):
                return False
        return True
