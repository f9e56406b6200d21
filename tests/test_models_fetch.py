"""Assembling the default GGUF from its part packages, on tiny fake parts."""

from __future__ import annotations

import hashlib
import sys
import types
from pathlib import Path

import pytest

from kb_app import models_fetch
from kb_app.errors import KBError, ModelNotFound
from kb_app.models_fetch import concatenate_verified, default_part_paths


@pytest.fixture
def parts(tmp_path: Path) -> list[Path]:
    paths = []
    for index, content in enumerate([b"GGUF-head", b"\x00" * 1000, "中文尾部".encode()]):
        path = tmp_path / "parts" / f"part{index + 1}.bin"
        path.parent.mkdir(exist_ok=True)
        path.write_bytes(content)
        paths.append(path)
    return paths


def _expected(parts: list[Path]) -> tuple[bytes, str]:
    data = b"".join(part.read_bytes() for part in parts)
    return data, hashlib.sha256(data).hexdigest()


def test_concatenates_in_order_and_verifies(parts: list[Path], tmp_path: Path) -> None:
    data, sha = _expected(parts)
    target = tmp_path / "models" / "model.gguf"
    assert concatenate_verified(parts, target, size=len(data), sha256=sha) == target
    assert target.read_bytes() == data
    assert (tmp_path / "models" / "model.gguf.sha256").read_text().strip() == sha
    assert not target.with_suffix(".partial").exists()


def test_second_call_does_not_read_parts(parts: list[Path], tmp_path: Path) -> None:
    data, sha = _expected(parts)
    target = tmp_path / "model.gguf"
    concatenate_verified(parts, target, size=len(data), sha256=sha)
    for part in parts:
        part.unlink()  # a re-read would now fail with ModelNotFound
    assert concatenate_verified(parts, target, size=len(data), sha256=sha) == target
    assert target.read_bytes() == data


def test_bad_hash_leaves_nothing_behind(parts: list[Path], tmp_path: Path) -> None:
    data, _ = _expected(parts)
    target = tmp_path / "model.gguf"
    with pytest.raises(KBError, match="Checksum mismatch"):
        concatenate_verified(parts, target, size=len(data), sha256="0" * 64)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["parts"]


def test_wrong_total_size_fails_before_writing(parts: list[Path], tmp_path: Path) -> None:
    data, sha = _expected(parts)
    target = tmp_path / "model.gguf"
    with pytest.raises(KBError, match="add up to"):
        concatenate_verified(parts, target, size=len(data) + 1, sha256=sha)
    assert not target.exists()


def test_missing_part_file_is_model_not_found(parts: list[Path], tmp_path: Path) -> None:
    data, sha = _expected(parts)
    parts[1].unlink()
    with pytest.raises(ModelNotFound, match=r"part2\.bin"):
        concatenate_verified(parts, tmp_path / "model.gguf", size=len(data), sha256=sha)


def test_stale_target_without_sidecar_is_rebuilt(parts: list[Path], tmp_path: Path) -> None:
    data, sha = _expected(parts)
    target = tmp_path / "model.gguf"
    target.write_bytes(b"x" * len(data))  # right size, wrong bytes, never verified
    concatenate_verified(parts, target, size=len(data), sha256=sha)
    assert target.read_bytes() == data


def test_part_modules_are_imported_in_order(parts: list[Path], monkeypatch: pytest.MonkeyPatch) -> None:
    for index, path in enumerate(parts, start=1):
        module = types.ModuleType(f"kb_fake_part{index}")
        module.get_part_path = lambda path=path: str(path)  # type: ignore[attr-defined]
        monkeypatch.setitem(sys.modules, module.__name__, module)
    assert default_part_paths(count=3, module_pattern="kb_fake_part{}") == parts


def test_missing_part_module_says_how_to_install() -> None:
    with pytest.raises(ModelNotFound, match=r"pip install -e '\.\[models\]'") as caught:
        default_part_paths(count=2, module_pattern="kb_not_installed_part{}")
    assert "kb_not_installed_part1" in str(caught.value)


def test_default_assembly_is_instant_when_already_verified(tmp_path: Path) -> None:
    target = tmp_path / "default.gguf"
    with target.open("wb") as sparse:  # sparse: no disk space or hashing needed
        sparse.truncate(models_fetch.DEFAULT_GGUF_SIZE)
    (tmp_path / "default.gguf.sha256").write_text(models_fetch.DEFAULT_GGUF_SHA256 + "\n")
    assert models_fetch.assemble_default_gguf(target, progress=False) == target


def test_hand_copied_file_is_adopted_only_if_its_hash_matches(parts: list[Path], tmp_path: Path) -> None:
    data, sha = _expected(parts)
    target = tmp_path / "copied.gguf"
    target.write_bytes(data[::-1])
    assert not models_fetch.adopt_existing(target, len(data), sha)
    target.write_bytes(data)
    assert models_fetch.adopt_existing(target, len(data), sha)
    assert models_fetch.is_verified(target, len(data), sha)
