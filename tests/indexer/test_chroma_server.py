"""The index through HttpClient against a real Chroma server started here (index.chroma_url):
index, search and an incremental update, with nothing stored under the workspace's
`.greenpatch/index/chroma`."""

import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from greenpatch.indexer import WorkspaceIndex


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture
def chroma_url(tmp_path: Path) -> Iterator[str]:
    exe = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    if not Path(exe).exists():
        pytest.skip("the installed chromadb ships no `chroma` server command")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [exe, "run", "--path", str(tmp_path / "server-data"), "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"{url}/api/v2/heartbeat", timeout=1).close()
                break
            except OSError:
                if server.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"chroma server did not start (exit {server.poll()})")
                time.sleep(0.2)
        yield url
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_index_search_and_update_through_http_client(shop: Path, chroma_url: str) -> None:
    ix = WorkspaceIndex(shop, chroma_url=chroma_url)
    try:
        stats = ix.update()
        assert stats.files == 4 and stats.embedded_chunks == stats.chunks
        hits = ix.search("charge the credit card", top_k=3, mode="dense")
        assert hits[0].path == "shop/payment.py" and "gateway" in hits[0].text
        (shop / "util" / "strings.py").write_text(
            "def shorten_url(link):\n    return link[:20]\n", encoding="utf-8"
        )
        again = ix.update()
        assert again.changed_files == 1
        top = ix.search("shorten url", top_k=1, files=True)
        assert top[0].path == "util/strings.py" and "link[:20]" in top[0].text
    finally:
        ix.stop()
    assert not (shop / ".greenpatch" / "index" / "chroma").exists()
    # A restarted index loads its chunks from the server: no file is indexed again (a
    # file whose chunks the store lacked would be).
    ix = WorkspaceIndex(shop, chroma_url=chroma_url)
    try:
        assert ix.update().changed_files == 0
        assert ix.search("shorten url", top_k=1)[0].symbol == "shorten_url"
    finally:
        ix.stop()
