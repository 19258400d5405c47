"""Writing the files a command generates (``init``'s project, ``deploy``'s schedule): never over a user's file
unless ``--force`` says so."""

from __future__ import annotations

from pathlib import Path

from dataload.cli.failure import fail
from dataload.exit_codes import ExitCode


def write_files(command: str, folder: Path, files: dict[str, str], *, force: bool) -> list[str] | None:
    """Write ``files`` (paths relative to ``folder`` -> text); returns the paths that were overwritten.

    When one of them exists and ``force`` is false, nothing is written: the usage error naming them is
    printed and the answer is ``None``. Every target is checked before the first write.
    """
    existing = [path for path in files if (folder / path).exists()]
    if existing and not force:
        many = len(existing) > 1
        fail(command, ExitCode.USAGE, f"{', '.join(existing)} exist{'' if many else 's'} already in {folder}; "
                                      f"nothing was written (pass --force to overwrite {'them' if many else 'it'})")
        return None
    for path, text in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_text(text, encoding="utf-8")
    return existing
