"""A throwaway Debian root (12 or 13) for installing the package, and that root booted (nspawn).

The root is the tarball of ``packaging/test-root.sh`` unpacked into a tmpfs that exists only in a
private mount namespace. One holder process (``sleep``, killed with its parent through
PR_SET_PDEATHSIG) keeps that namespace alive; every command enters it with nsenter. When the
holder goes, the kernel drops the namespace and with it the tmpfs: nothing is left on disk or in
this machine's mount table, even after a crashed test run. tmpfs rather than disk because dpkg
unpacking ~340 packages is I/O-bound: 35 s against 65 s on the loaded 2-core machine.

Booted: ``systemd-nspawn --boot`` on the same directory runs the root's own systemd as PID 1 in
its own PID and network namespaces (loopback only: the appliance's port 8420 there is not this
machine's). Commands run inside through nsenter into the container's PID 1 namespaces, so no
machined or D-Bus is needed on this machine.
"""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

from tests.helpers import REPO, short_tempdir

PATH = "/usr/sbin:/usr/bin:/sbin:/bin"


def root_tarball(suite: str = "bookworm") -> Path:
    result = subprocess.run(
        ["bash", str(REPO / "packaging" / "test-root.sh"), "--suite", suite],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr
    return Path(result.stdout.strip().splitlines()[-1])


class ThrowawayRoot:
    def __init__(self, tarball: Path) -> None:
        self.dir = short_tempdir("fxroot")
        self.path = self.dir / "root"
        self.path.mkdir()
        script = (
            f"mount -t tmpfs -o size=6g,mode=0755 ferrex-throwaway-root {self.path}\n"
            f"tar -C {self.path} -xf {tarball}\n"
            f"mount -t proc proc {self.path}/proc\n"
            f"mount --rbind /dev {self.path}/dev\n"
            "echo ready\n"
            "exec sleep infinity\n"
        )
        self.holder = subprocess.Popen(
            [
                "setpriv",
                "--pdeathsig",
                "KILL",
                "unshare",
                "--mount",
                "--propagation",
                "private",
                "sh",
                "-ec",
                script,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.holder.stdout is not None
        assert self.holder.stdout.readline().strip() == "ready", "could not unpack the root"
        self.container: Container | None = None

    def host(self, *argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """A command on this machine, but in the root's mount namespace."""
        return subprocess.run(
            ["nsenter", f"--mount=/proc/{self.holder.pid}/ns/mnt", *argv],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def chroot(self, script: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``script`` (sh) chrooted into the root: no systemd runs there, as in a build chroot."""
        return self.host(
            "chroot",
            str(self.path),
            "env",
            "-i",
            f"PATH={PATH}",
            "HOME=/root",
            "LANG=C.UTF-8",
            "DEBIAN_FRONTEND=noninteractive",
            "sh",
            "-ec",
            script,
            timeout=timeout,
        )

    def file(self, path: str) -> Path:
        """A path in the root as this process can reach it (through the holder's /proc entry)."""
        return Path(f"/proc/{self.holder.pid}/root") / self.path.relative_to("/") / path.lstrip("/")

    def boot(self) -> Container:
        # a booted system: systemd mounts its own /proc and /dev, and policy-rc.d (which keeps
        # daemons from starting in a chroot) has no place there
        for script in (
            f"umount -R {self.path}/dev",
            f"umount {self.path}/proc",
            f"rm -f {self.path}/usr/sbin/policy-rc.d",
        ):
            result = self.host("sh", "-ec", script)
            assert result.returncode == 0, result.stderr
        self.container = Container(self)
        return self.container

    def close(self) -> None:
        if self.container is not None:
            self.container.poweroff()
        self.holder.kill()
        self.holder.wait()
        shutil.rmtree(self.dir, ignore_errors=True)


class Container:
    def __init__(self, root: ThrowawayRoot) -> None:
        self.log_path = root.dir / "boot.log"
        with self.log_path.open("wb") as log:
            self.nspawn = subprocess.Popen(
                # nspawn answers SIGTERM with a clean shutdown of the container
                [
                    "setpriv",
                    "--pdeathsig",
                    "TERM",
                    "nsenter",
                    f"--mount=/proc/{root.holder.pid}/ns/mnt",
                    "systemd-nspawn",
                    "--quiet",
                    "--directory",
                    str(root.path),
                    "--boot",
                    "--register=no",
                    "--keep-unit",
                    "--private-network",
                    "--resolv-conf=off",
                    "--timezone=off",
                    "--console=read-only",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        try:
            self.pid1 = self._find_pid1(timeout=30)
            deadline = time.monotonic() + 120
            while True:  # systemctl answers once systemd has opened its private socket
                booted = self.sh("timeout 120 systemctl is-system-running --wait || true")
                if booted.stdout.strip() in ("running", "degraded") or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            assert booted.stdout.strip() in ("running", "degraded"), self.describe(booted)
        except BaseException:
            self.poweroff()
            raise

    def _find_pid1(self, timeout: float) -> int:
        """The container's init: nspawn's child that is PID 1 in its own PID namespace."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            assert self.nspawn.poll() is None, self.log_path.read_text(errors="replace")
            for entry in Path("/proc").iterdir():
                if not entry.name.isdigit():
                    continue
                try:
                    status = dict(
                        line.split(":\t", 1)
                        for line in (entry / "status").read_text().splitlines()
                        if ":\t" in line
                    )
                except OSError:
                    continue
                if status.get("PPid") == str(self.nspawn.pid) and status.get("NSpid", "").split()[
                    -1:
                ] == ["1"]:
                    return int(entry.name)
            time.sleep(0.1)
        raise AssertionError(
            "the container's init did not appear: " + self.log_path.read_text(errors="replace")
        )

    def sh(self, script: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``script`` (sh) in the booted container, as root, like a shell on the machine."""
        return subprocess.run(
            [
                "nsenter",
                f"--target={self.pid1}",
                "--mount",
                "--uts",
                "--ipc",
                "--net",
                "--pid",
                "--cgroup",
                "env",
                "-i",
                f"PATH={PATH}",
                "HOME=/root",
                "LANG=C.UTF-8",
                "DEBIAN_FRONTEND=noninteractive",
                "sh",
                "-ec",
                script,
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def ok(self, script: str, timeout: float = 300) -> str:
        result = self.sh(script, timeout)
        assert result.returncode == 0, self.describe(result)
        return result.stdout

    def describe(self, result: subprocess.CompletedProcess[str]) -> str:
        journal = self.sh("journalctl -u ferrex -o cat --no-pager | tail -40").stdout
        return (
            f"rc={result.returncode}\nstdout: {result.stdout}\nstderr: {result.stderr}\n"
            f"ferrex journal:\n{journal}"
        )

    def http(
        self, method: str, path: str, body: object = None, token: str | None = None
    ) -> tuple[int, Any]:
        """A request to the appliance from inside the container (its loopback is its own)."""
        script = """
import json, sys, urllib.error, urllib.request
method, url, body, token = json.loads(sys.argv[1])
req = urllib.request.Request(url, method=method,
                             data=None if body is None else json.dumps(body).encode())
req.add_header("Content-Type", "application/json")
if token:
    req.add_header("Authorization", "Bearer " + token)
try:
    with urllib.request.urlopen(req, timeout=10) as r:
        status, raw = r.status, r.read()
except urllib.error.HTTPError as e:
    status, raw = e.code, e.read()
print(json.dumps([status, json.loads(raw) if raw else None]))
"""
        args = json.dumps([method, "http://127.0.0.1:8420" + path, body, token])
        result = subprocess.run(
            [
                "nsenter",
                f"--target={self.pid1}",
                "--mount",
                "--uts",
                "--ipc",
                "--net",
                "--pid",
                "--cgroup",
                "env",
                "-i",
                f"PATH={PATH}",
                "python3",
                "-c",
                script,
                args,
            ],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert result.returncode == 0, self.describe(result)
        status, reply = json.loads(result.stdout)
        return int(status), reply

    def wait_active(self, timeout: float = 120) -> None:
        """Type=notify: "active" only once the appliance has sent READY=1."""
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            state = self.sh("systemctl is-active ferrex.service || true").stdout.strip()
            if state in ("active", "failed"):
                break
            time.sleep(0.2)
        assert state == "active", self.describe(self.sh("systemctl status ferrex || true"))

    def poweroff(self) -> None:
        if self.nspawn.poll() is None:
            self.nspawn.send_signal(signal.SIGTERM)  # nspawn asks the container's systemd
            try:
                self.nspawn.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.nspawn.kill()
                self.nspawn.wait()
