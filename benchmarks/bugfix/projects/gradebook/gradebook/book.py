"""Scores per student, averaged, graded and ranked."""

from __future__ import annotations

from collections import defaultdict

_LETTERS = ((90, "A"), (80, "B"), (70, "C"), (60, "D"))


def letter_grade(score: float) -> str:
    """A for 90 and above, B for 80, C for 70, D for 60, F below."""
    for floor, letter in _LETTERS:
        if score >= floor:
            return letter
    return "F"


class Gradebook:
    def __init__(self) -> None:
        self._scores: dict[str, list[float]] = defaultdict(list)

    def record(self, student: str, score: float) -> None:
        if not 0 <= score <= 100:
            raise ValueError(f"score out of range: {score}")
        self._scores[student].append(score)

    def average(self, student: str) -> float:
        scores = self._scores.get(student)
        if not scores:
            raise KeyError(student)
        return sum(scores) / len(scores)

    def report(self) -> dict[str, str]:
        """Letter grade of each student's average."""
        return {name: letter_grade(self.average(name)) for name in self._scores}

    def ranking(self) -> list[tuple[str, float]]:
        """(student, average) pairs, best average first; equal averages in name order."""
        averages = [(name, self.average(name)) for name in self._scores]
        return sorted(averages, key=lambda pair: (pair[1], pair[0]))

    def top(self, n: int) -> list[str]:
        """Names of the `n` best students."""
        return [name for name, _ in self.ranking()[:n]]
