import pytest

from life.grid import live_neighbours, parse, population, render, step

BLINKER = """
.....
..#..
..#..
..#..
.....
"""


def test_parse_and_render():
    assert render(parse(BLINKER)) == BLINKER.strip()


def test_parse_rejects_ragged_rows():
    with pytest.raises(ValueError):
        parse("##\n#")


def test_neighbours_of_a_dead_cell():
    assert live_neighbours(parse(BLINKER), 2, 1) == 3


def test_neighbours_of_a_live_cell():
    assert live_neighbours(parse(BLINKER), 2, 2) == 2


def test_blinker_oscillates():
    once = step(parse(BLINKER))
    assert render(once) == ".....\n.....\n.###.\n.....\n....."
    assert render(step(once)) == BLINKER.strip()


def test_block_is_still():
    block = parse("....\n.##.\n.##.\n....")
    assert step(block) == block


def test_population():
    assert population(parse(BLINKER)) == 3
