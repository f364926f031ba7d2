"""Conway's Game of Life on a finite grid whose edges are dead."""

from __future__ import annotations

Grid = list[list[bool]]


def parse(text: str) -> Grid:
    """Rows of "#" (alive) and "." (dead); blank lines are ignored."""
    rows = [line.strip() for line in text.strip().splitlines() if line.strip()]
    if len({len(row) for row in rows}) > 1:
        raise ValueError("rows have different lengths")
    return [[cell == "#" for cell in row] for row in rows]


def render(grid: Grid) -> str:
    return "\n".join("".join("#" if cell else "." for cell in row) for row in grid)


def live_neighbours(grid: Grid, row: int, col: int) -> int:
    """How many of the eight cells around (row, col) are alive."""
    count = 0
    for dr in (-1, 0, 1):
        for dc in (-1, 0, 1):
            r, c = row + dr, col + dc
            if 0 <= r < len(grid) and 0 <= c < len(grid[r]) and grid[r][c]:
                count += 1
    return count


def step(grid: Grid) -> Grid:
    """One generation: a live cell with 2 or 3 live neighbours lives on, a dead cell with
    exactly 3 comes alive, every other cell is dead."""
    new: Grid = []
    for r, row in enumerate(grid):
        new_row = []
        for c, alive in enumerate(row):
            n = live_neighbours(grid, r, c)
            new_row.append(n in (2, 3) if alive else n == 3)
        new.append(new_row)
    return new


def population(grid: Grid) -> int:
    return sum(cell for row in grid for cell in row)
