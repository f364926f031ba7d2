"""Ignore rules, binaries, size limit, encodings, symlink loops."""

import os
from pathlib import Path

from greenpatch.indexer.files import IgnoreRules, decode, read_bytes, walk


def _tree(root: Path, files: dict[str, bytes | str]) -> None:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content)


def _walk(root: Path, max_bytes: int = 1_000_000) -> set[str]:
    return {i.path for i in walk(root, IgnoreRules(root), max_bytes)}


def test_builtin_excludes_and_gitignore(tmp_path: Path) -> None:
    _tree(
        tmp_path,
        {
            "src/app.py": "x = 1",
            "node_modules/lib/index.js": "x",
            ".git/config": "x",
            ".venv/lib/site.py": "x",
            "build/out.py": "x",
            "pkg.egg-info/PKG-INFO": "x",
            "logo.png": b"\x89PNG",
            ".gitignore": "*.log\ngenerated/\n",
            "debug.log": "x",
            "generated/code.py": "x",
            "src/.gitignore": "secret.py\n!keep.log\n",
            "src/secret.py": "x",
            "src/keep.log": "x",
        },
    )
    assert _walk(tmp_path) == {".gitignore", "src/.gitignore", "src/app.py", "src/keep.log"}


def test_git_info_exclude(tmp_path: Path) -> None:
    _tree(tmp_path, {".git/info/exclude": "local.py\n", "local.py": "x", "a.py": "x"})
    assert _walk(tmp_path) == {"a.py"}


def test_size_limit(tmp_path: Path) -> None:
    _tree(tmp_path, {"big.txt": "x" * 2000, "small.txt": "x"})
    assert _walk(tmp_path, max_bytes=1000) == {"small.txt"}
    assert read_bytes(tmp_path, "big.txt", max_bytes=1000) is None


def test_symlink_loop_and_escape(tmp_path: Path) -> None:
    _tree(tmp_path, {"ws/a.py": "x"})
    outside = tmp_path / "secret.txt"
    outside.write_text("x")
    ws = tmp_path / "ws"
    os.symlink(ws, ws / "loop")
    os.symlink(outside, ws / "escape.txt")
    os.symlink(ws / "a.py", ws / "alias.py")
    assert _walk(ws) == {"a.py", "alias.py"}


def test_decode_binary_and_encodings() -> None:
    assert decode(b"abc\x00def") is None
    assert decode("héllo".encode()) == "héllo"
    assert decode("\ufeffbom".encode()) == "bom"
    latin = "Größe = 'Maß' # café crème brûlée, déjà vu à la française\n" * 5
    decoded = decode(latin.encode("latin-1"))
    # Detection is a guess among single-byte code pages; the German letters must survive.
    assert decoded is not None and decoded.startswith("Größe = 'Maß'")


def test_vanished_file(tmp_path: Path) -> None:
    assert read_bytes(tmp_path, "nope.py") is None
