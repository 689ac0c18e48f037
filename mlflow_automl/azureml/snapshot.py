"""What a run's snapshot holds: a folder's files under its ``.amlignore`` / ``.gitignore`` rules."""

from __future__ import annotations

from pathlib import Path


def snapshot_files(root: Path) -> list[str]:
    """Relative POSIX paths of the files a snapshot of ``root`` holds.

    Rules come from ``root/.amlignore`` if it exists, else ``root/.gitignore`` (root-level files
    only), with git's semantics (``pathspec``); ``.git`` is never included.
    """
    import pathspec

    ignore = next((root / n for n in (".amlignore", ".gitignore") if (root / n).is_file()), None)
    lines = ignore.read_text().splitlines() if ignore else []
    spec = pathspec.GitIgnoreSpec.from_lines([*lines, ".git/"])
    return sorted(spec.match_tree_files(str(root), negate=True))
