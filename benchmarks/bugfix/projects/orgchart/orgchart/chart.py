"""An organisation chart as a tree of employees and their direct reports."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field


@dataclass
class Employee:
    name: str
    title: str
    reports: list[Employee] = field(default_factory=list)

    def add(self, name: str, title: str) -> Employee:
        """Add a direct report and return them."""
        employee = Employee(name, title)
        self.reports.append(employee)
        return employee


def headcount(root: Employee) -> int:
    """Everyone in the tree, `root` included."""
    return 1 + sum(headcount(report) for report in root.reports)


def levels(root: Employee) -> int:
    """How many management levels the tree has: a lone employee is 1 level."""
    if not root.reports:
        return 0
    return 1 + max(levels(report) for report in root.reports)


def walk(root: Employee) -> Iterator[Employee]:
    """Everyone, depth first, managers before their reports."""
    yield root
    for report in root.reports:
        yield from walk(report)


def chain_of_command(root: Employee, name: str) -> list[str]:
    """Names from `root` down to the employee called `name`; empty if nobody is."""
    if root.name == name:
        return [root.name]
    for report in root.reports:
        chain = chain_of_command(report, name)
        if chain:
            return [root.name, *chain]
    return []
