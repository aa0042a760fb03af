"""Two Linux system calls that Python's standard library does not offer, through ctypes, each with a way
to do without it elsewhere.

- renameat2(RENAME_NOREPLACE): give a verified video its final name unless a file took that name
  meanwhile (another run's video), in one atomic step.
- prctl(PR_SET_PDEATHSIG): an ffmpeg child is killed when the thread that started it dies, even by
  SIGKILL, instead of encoding on for nobody.
- prctl(PR_CAPBSET_DROP, CAP_SYS_NICE) and RLIMIT_RTPRIO 0: an ffmpeg child never gets real-time
  priority. SVT-AV1 (4.x) asks for it for its threads; run as root, or with an rtprio limit, it gets it,
  and its threads then take the CPU from everything else, a recorder beside it included (measured: a
  recorder's frame call runnable but not run for 60-130 ms).

The last two are done for each ffmpeg child by util-linux's setpriv and prlimit where they are here
(ffmpeg/child.py: a preexec_fn makes CPython fork instead of vfork); preexec_for_ffmpeg is for where they
are not.
"""

from __future__ import annotations

import ctypes
import errno
import functools
import os
import resource
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

_AT_FDCWD = -100
_RENAME_NOREPLACE = 1
_PR_SET_PDEATHSIG = 1
_PR_CAPBSET_DROP = 24
_CAP_SYS_NICE = 23
# What renameat2 answers where the kernel or the file system lacks it (older kernels, some network mounts).
_NO_RENAMEAT2 = (errno.ENOSYS, errno.EINVAL, errno.EOPNOTSUPP)
# What link answers on file systems without hard links (FAT, some FUSE and SMB mounts).
_NO_LINKS = (errno.EPERM, errno.EOPNOTSUPP, errno.EMLINK)


@functools.cache
def _libc_function(name: str) -> Any | None:
    if sys.platform != "linux":
        return None
    try:
        return getattr(ctypes.CDLL(None, use_errno=True), name)
    except (OSError, AttributeError):  # no such function in this C library (glibc < 2.28 for renameat2)
        return None


def rename_noreplace(source: Path, target: Path) -> None:
    """Rename `source` to `target`; FileExistsError (and `source` left as it is) if `target` exists.

    Atomic with renameat2(RENAME_NOREPLACE); else a hard link (which fails on an existing name) and
    an unlink; on file systems without hard links, a check and a rename, which a run that finishes
    in between those two steps can still race."""
    renameat2 = _libc_function("renameat2")
    if renameat2 is not None:
        if renameat2(_AT_FDCWD, os.fsencode(source), _AT_FDCWD, os.fsencode(target), _RENAME_NOREPLACE) == 0:
            return
        number = ctypes.get_errno()
        if number not in _NO_RENAMEAT2:
            raise OSError(number, os.strerror(number), str(source), None, str(target))
    try:
        os.link(source, target)
    except OSError as error:
        if error.errno not in _NO_LINKS:
            raise
        if target.exists():
            raise FileExistsError(errno.EEXIST, os.strerror(errno.EEXIST), str(target)) from None
        source.rename(target)
        return
    source.unlink()


def preexec_for_ffmpeg(die_with_parent: bool = True) -> Callable[[], None] | None:
    """A preexec_fn for an ffmpeg child: no real-time priority for it (see above) and, with
    `die_with_parent`, killed when the thread that starts it dies; None off Linux.

    It runs in the child between fork and exec, so it does only what is safe there while other threads
    of the parent may hold locks: a few system calls through functions looked up beforehand, and no
    import, allocation of note or lock. A parent that died before the prctl took effect is caught by
    comparing the parent's process id with the one it had at fork."""
    prctl = _libc_function("prctl")
    if prctl is None:
        return None
    parent, kill, root = os.getpid(), int(signal.SIGKILL), os.geteuid() == 0
    setrlimit, rtprio, no_realtime = resource.setrlimit, resource.RLIMIT_RTPRIO, (0, 0)

    def prepare() -> None:
        # Root's capabilities after exec come from the bounding set: without CAP_SYS_NICE, none to raise.
        if root:
            prctl(_PR_CAPBSET_DROP, _CAP_SYS_NICE, 0, 0, 0)
        # Not contextlib.suppress: no object made between fork and exec. Lowering a limit is always allowed.
        try:  # noqa: SIM105
            setrlimit(rtprio, no_realtime)
        except (OSError, ValueError):
            pass
        if die_with_parent:
            prctl(_PR_SET_PDEATHSIG, kill, 0, 0, 0)
            if os.getppid() != parent:
                os.kill(os.getpid(), kill)

    return prepare
