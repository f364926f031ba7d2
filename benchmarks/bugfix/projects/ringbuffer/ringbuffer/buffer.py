"""Keep the most recent N metric samples and compute rolling figures over them."""

from __future__ import annotations

from collections.abc import Iterator


class RingBuffer:
    """A fixed number of slots; once full, each new sample overwrites the oldest."""

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        self.capacity = capacity
        self._slots: list[float] = []
        self._next = 0  # where the next sample goes once the buffer is full

    def append(self, sample: float) -> None:
        if len(self._slots) < self.capacity:
            self._slots.append(sample)
        else:
            self._slots[self._next] = sample
        self._next = (self._next + 1) % self.capacity

    def __len__(self) -> int:
        return len(self._slots)

    def __iter__(self) -> Iterator[float]:
        """Samples from oldest to newest."""
        if len(self._slots) < self.capacity:
            return iter(list(self._slots))
        return iter(self._slots[self._next :] + self._slots[: self._next])

    def latest(self, n: int) -> list[float]:
        """The `n` most recent samples, oldest first; all of them if there are fewer."""
        if n < 0:
            raise ValueError("n must not be negative")
        return list(self)[-n:]

    def moving_average(self, window: int) -> float | None:
        """Mean of the last `window` samples, or None if there are none."""
        recent = self.latest(window)
        return sum(recent) / len(recent) if recent else None
