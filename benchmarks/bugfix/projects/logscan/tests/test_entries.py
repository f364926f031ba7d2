from datetime import datetime

import pytest

from logscan.entries import at_least, count_by_source, parse_line, parse_lines

LOG = """\
2024-03-01 12:00:01 [INFO] web: started
2024-03-01 12:00:05 [WARNING] db: slow query: 2.5s
garbage line

2024-03-01 12:01:00 [ERROR] payments: card declined
2024-03-01 12:02:00 [CRITICAL] payments: ledger out of balance
"""


def test_parse_line():
    entry = parse_line("2024-03-01 12:00:01 [ERROR] payments: card declined")
    assert entry.when == datetime(2024, 3, 1, 12, 0, 1)
    assert (entry.level, entry.source, entry.message) == ("ERROR", "payments", "card declined")


def test_message_with_colon():
    entry = parse_line("2024-03-01 12:00:05 [WARNING] db: slow query: 2.5s")
    assert entry.message == "slow query: 2.5s"


def test_parse_line_rejects_unknown_level():
    with pytest.raises(ValueError):
        parse_line("2024-03-01 12:00:05 [LOUD] db: hi")


def test_parse_lines_skips_garbage():
    assert len(list(parse_lines(LOG.splitlines()))) == 4


def test_at_least_includes_level():
    entries = list(parse_lines(LOG.splitlines()))
    assert [e.level for e in at_least(entries, "ERROR")] == ["ERROR", "CRITICAL"]


def test_at_least_debug_keeps_everything():
    entries = list(parse_lines(LOG.splitlines()))
    assert len(at_least(entries, "DEBUG")) == 4


def test_count_by_source():
    entries = parse_lines(LOG.splitlines())
    assert count_by_source(entries) == {"payments": 2, "web": 1, "db": 1}
