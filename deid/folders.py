"""Walk a folder tree: every entry that is not a folder, and every folder that cannot be read.

One walker for every job that lists a tree on disk: the run's input folders
(:func:`deid.pipeline.inputs.walk_files`), the sweep of a killed writer's temporaries
(:func:`deid.pipeline.duplicates.sweep_temp_files`) and verify's search for outputs no
ledger row names (:func:`deid.verifyrun.invariants.orphan_outputs`). They share the rules
that make a walk safe on trees nobody vetted:

* iterative (an explicit stack): a tree nested thousands deep costs memory, not Python stack;
* a folder that cannot be listed (no permission, an I/O error) is *yielded*, with its error,
  never skipped in silence: what nobody could see must be accounted for by the caller (the
  run quarantines it, verify reports it);
* ``follow_symlinks=True`` enters linked folders, each real folder once (by device and
  inode), so a symlink loop ends the walk instead of hanging it; ``False`` enters none
  (a link to a folder is then an entry like a file: in an output tree, deid wrote no link);
* ``prune``: folders left out (the run's own output and ledger, should they lie under an
  input), compared by real path.

Entries come folder by folder in the order the system lists them; callers that need an
order sort (the run sorts every input path). This module imports nothing of deid's: it sits
in the bottom layer, below the pipeline and verify alike.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from typing import NamedTuple


class Entry(NamedTuple):
    """One thing the walk found: a non-folder entry, or (``error`` set) a folder that could
    not be listed, the walk's root included."""

    path: str
    name: str
    error: OSError | None = None


def walk(root: str, *, follow_symlinks: bool = True, prune: Iterable[str] = ()) -> Iterator[Entry]:
    """Every non-folder entry under ``root`` (regular files, FIFOs, sockets, dangling links
    ...) and every folder that cannot be listed (see the module docstring)."""
    pruned = {os.path.realpath(p) for p in prune}
    seen: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        folder = stack.pop()
        try:
            if follow_symlinks:
                st = os.stat(folder)
                ident = (st.st_dev, st.st_ino)
                if ident in seen:
                    continue
                seen.add(ident)
            if pruned and os.path.realpath(folder) in pruned:
                continue
            with os.scandir(folder) as entries:
                children = list(entries)
        except OSError as error:
            yield Entry(folder, os.path.basename(folder), error)
            continue
        for entry in children:
            try:
                is_dir = entry.is_dir(follow_symlinks=follow_symlinks)
            except OSError:
                is_dir = False
            if is_dir:
                stack.append(entry.path)
            else:
                yield Entry(entry.path, entry.name)


__all__ = ["Entry", "walk"]
