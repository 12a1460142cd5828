"""The drop folder's rules: which files a watcher takes, when, and how several share one.

Providers write a file under a temporary name, then rename it when it is complete (write
then rename). The watcher never takes a temporary name: hidden (``.x``), an Office lock
file (``~$x``), or a name ending in ``.part``, ``.partial``, ``.tmp``, ``.temp``,
``.filepart``, ``.crdownload``, ``.download`` or ``~``. Any other file is taken once it has
been quiet — the same size and modification time, the last change at least
``drop_quiet_seconds`` ago (veille.yaml, 15 s by default) — a fallback for providers who
cannot rename; a file that changes while it is claimed or read is put back and waited for.

Only regular files are taken. Symbolic links (wherever they point), FIFOs, devices, sockets
and hard links (a file with several names, maybe one outside the folder) are refused with a
message naming them, left where they are, and nothing of them is read or archived.

Several watchers, or a watcher and ``veille ingest``, may share one folder: a watcher claims
a file by renaming it into a folder of its own (``.veille-en-cours/<host>-<pid>/``, mode
0700) before reading it, and the rename succeeds for one of them only. Files claimed by a
watcher that died are put back in the folder when a watcher starts on this host.
"""

from __future__ import annotations

import os
import socket
import stat
from dataclasses import dataclass, field
from pathlib import Path

from connectors.receive import file_kind

TEMPORARY_SUFFIXES = (".part", ".partial", ".tmp", ".temp", ".filepart", ".crdownload",
                      ".download", "~")
CLAIMS = ".veille-en-cours"
NOTHING = "rien n'a été lu ni archivé"


@dataclass(frozen=True)
class Signature:
    """What must stay unchanged for a file to be quiet."""

    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> Signature:
        return cls(st.st_size, st.st_mtime_ns)


@dataclass
class Scan:
    """One look at the folder: files ready to claim, files still settling (with why),
    entries refused (with why), and every signature seen (for the next look)."""

    ready: list[tuple[Path, Signature]] = field(default_factory=list)
    waiting: list[tuple[Path, str]] = field(default_factory=list)
    refused: list[tuple[Path, str]] = field(default_factory=list)
    seen: dict[str, Signature] = field(default_factory=dict)


def temporary_name(name: str) -> bool:
    """A name a provider gives a file while writing it: never taken."""
    return name.startswith((".", "~$")) or name.lower().endswith(TEMPORARY_SUFFIXES)


def refusal(path: Path, st: os.stat_result) -> str | None:
    """Why a drop-folder entry (``st`` from lstat) is not a delivery, in French; None for a
    regular file with one name."""
    if stat.S_ISLNK(st.st_mode):
        return (f"{path.name} : lien symbolique (vers {os.readlink(path)}) refusé : le dossier "
                f"de dépôt n'accepte que des fichiers ordinaires, un lien peut désigner un "
                f"fichier hors du dossier ; {NOTHING}. Déposez le fichier lui-même.")
    kind = file_kind(st.st_mode)
    if kind is not None:
        return (f"{path.name} : c'est {kind}, refusé : le dossier de dépôt n'accepte que des "
                f"fichiers ordinaires ; {NOTHING}.")
    if st.st_nlink > 1:
        return (f"{path.name} : lien physique refusé (ce fichier a {st.st_nlink} noms, peut-être "
                f"hors du dossier de dépôt) ; {NOTHING}. Déposez une copie du fichier.")
    return None


def scan(folder: Path, previous: dict[str, Signature], *, quiet: float, now: float,
         once: bool) -> Scan:
    """Look at ``folder`` once. A file is ready when it has been quiet for ``quiet``
    seconds and, unless ``once``, had the same signature at the previous look."""
    out = Scan()
    for entry in sorted(os.scandir(folder), key=lambda e: e.name):
        if temporary_name(entry.name):
            continue
        path = Path(entry.path)
        st = entry.stat(follow_symlinks=False)
        if stat.S_ISDIR(st.st_mode):
            continue  # processed/, the claims, a provider's own sub-folders
        problem = refusal(path, st)
        if problem is not None:
            out.refused.append((path, problem))
            continue
        signature = Signature.of(st)
        out.seen[entry.name] = signature
        age = now - st.st_mtime
        if age < quiet:
            out.waiting.append((path, f"{entry.name} : modifié il y a {max(age, 0):.0f} s, "
                                      f"pris après {quiet:g} s sans changement"))
        elif once or previous.get(entry.name) == signature:
            out.ready.append((path, signature))
        else:
            out.waiting.append((path, f"{entry.name} : vu pour la première fois, pris au "
                                      "prochain passage s'il n'a pas changé"))
    return out


def claims_folder(folder: Path) -> Path:
    """This process's own folder of claimed files (mode 0700: no provider writes in it)."""
    mine = folder / CLAIMS / f"{socket.gethostname()}-{os.getpid()}"
    mine.mkdir(parents=True, exist_ok=True, mode=0o700)
    return mine


def claim(path: Path, signature: Signature, mine: Path) -> Path | None:
    """Move a ready file into ``mine``; None if another process took it first, or if it
    is no longer the quiet regular file that was scanned (then it is put back)."""
    target = mine / path.name
    try:
        os.rename(path, target)
    except FileNotFoundError:
        return None
    st = os.lstat(target)
    if refusal(target, st) is not None or Signature.of(st) != signature:
        put_back(target, path.parent)
        return None
    return target


def put_back(claimed: Path, folder: Path) -> None:
    """Return a claimed file to the drop folder (unless a new file took its name there)."""
    if not (folder / claimed.name).exists():
        os.rename(claimed, folder / claimed.name)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    return True


def recover_claims(folder: Path) -> list[Path]:
    """Put back the files claimed by watchers of this host that are no longer running
    (stopped between claiming a file and moving it to processed/)."""
    root, host, recovered = folder / CLAIMS, socket.gethostname(), []
    if not root.is_dir():
        return []
    for owner in sorted(root.iterdir()):
        name, _, pid = owner.name.rpartition("-")
        if name != host or not pid.isdigit() or int(pid) == os.getpid() or _alive(int(pid)):
            continue
        for claimed in sorted(owner.iterdir()):
            put_back(claimed, folder)
            recovered.append(folder / claimed.name)
        if not any(owner.iterdir()):
            owner.rmdir()
    return recovered
