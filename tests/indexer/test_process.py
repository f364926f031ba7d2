"""The index in a child process, driven as the server drives it."""

import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from greenpatch.errors import Cancelled, WorkspaceError
from greenpatch.indexer.process import IndexProcess


@pytest.fixture
def index(shop: Path) -> Iterator[IndexProcess]:
    ix = IndexProcess(shop)
    yield ix
    ix.stop()


def paths(ix: IndexProcess, query: str) -> list[str]:
    return [r.path for r in ix.search(query, top_k=3, files=True)]


def eventually(check: object, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not callable(check) or not check():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_indexes_searches_and_reports_progress(index: IndexProcess) -> None:
    seen: list[tuple[int, int]] = []
    stats = index.start_watching(lambda done, total: seen.append((done, total))).result(120)
    assert (stats.files, stats.changed_files) == (4, 4)
    assert seen[-1] == (4, 4)
    assert paths(index, "charge the credit card")[0] == "shop/payment.py"
    assert index.search("slugify title")[0].symbol == "slugify"


def test_unsaved_buffers_and_saved_files_become_searchable(index: IndexProcess, shop: Path) -> None:
    index.start_watching().result(120)
    index.set_buffer("shop/refunds.py", "def refund_voucher(order):\n    return order.total\n")
    eventually(lambda: paths(index, "refund voucher")[:1] == ["shop/refunds.py"])
    index.drop_buffer("shop/refunds.py")
    eventually(lambda: "shop/refunds.py" not in paths(index, "refund voucher"))
    (shop / "shop" / "loyalty.py").write_text("def award_loyalty_points(customer):\n    pass\n")
    eventually(lambda: paths(index, "award loyalty points")[:1] == ["shop/loyalty.py"])


def test_stop_ends_the_child_and_later_calls_say_so(index: IndexProcess) -> None:
    job = index.start_watching()
    index.stop()
    assert not index.alive
    assert index._proc.returncode is not None
    assert job.done()  # finished just before, or stopped: never left waiting
    assert job.exception() is None or isinstance(job.exception(), Cancelled)
    with pytest.raises(WorkspaceError, match="has stopped"):
        index.search("cart")


def test_a_killed_child_fails_what_waits_and_is_reported(index: IndexProcess) -> None:
    index.start_watching().result(120)
    os.kill(index.pid, signal.SIGKILL)
    eventually(lambda: not index.alive)
    with pytest.raises(WorkspaceError, match=r"stopped|exited"):
        index.search("cart")


def test_the_child_exits_when_the_server_goes_away(index: IndexProcess) -> None:
    index._out.close()  # what a killed server's pipe looks like from the child
    index._proc.wait(30)
    assert index._proc.returncode == 0


def test_a_missing_workspace_is_refused(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="not a directory"):
        IndexProcess(tmp_path / "nope")
