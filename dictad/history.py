"""What was dictated lately, delivered or not: the tray's Recent dictations and ``dictad recent``.

Text that could not be delivered is kept here so that nothing said is lost; the user copies
or pastes it from the tray, or prints it with ``dictad recent``.
"""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass

RECENT_LIMIT = 10


@dataclass
class RecentDictation:
    text: str
    delivered: bool


class RecentDictations:
    """The last RECENT_LIMIT dictations, newest first."""

    def __init__(self, limit: int = RECENT_LIMIT):
        self._items: deque[RecentDictation] = deque(maxlen=limit)
        self._lock = threading.Lock()

    def add(self, text: str, delivered: bool) -> None:
        with self._lock:
            self._items.appendleft(RecentDictation(text, delivered))

    def latest(self) -> RecentDictation | None:
        with self._lock:
            return self._items[0] if self._items else None

    def texts(self) -> list[str]:
        with self._lock:
            return [item.text for item in self._items]
