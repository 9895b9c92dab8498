"""The last resort: the message goes to dictad's log, so that it is never lost."""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)


class LogNotifier:
    def notify(self, message: str) -> None:
        log.warning("desktop notification not shown (no notification service here): %s", message)
