"""Desktop notifications: how the user hears of a problem, tray icon or not.

Stock GNOME shows no tray, so a notification is how they learn that a dictation's text was
kept in Recent dictations. Never silent: without a notification service the message is logged.
"""

from __future__ import annotations

import importlib.util
from typing import Protocol

from dictad.desktop.choosing import Backend, Unavailable, choose
from dictad.desktop.session import NO_SESSION_BUS, Session

CONCERN = "notify"


class NotifyUnavailable(Unavailable):
    """No way to tell the user here (the log backend always works, unless forced away)."""


class Notifier(Protocol):
    def notify(self, message: str) -> None:
        """Show ``message``, or log why it was not shown; never raises. Safe from any thread."""


def choose_notifier(session: Session, app_name: str) -> Notifier:
    return choose(CONCERN, BACKENDS, session, NotifyUnavailable, app_name)


def _why_not_dbus(session: Session) -> str | None:
    if importlib.util.find_spec("gi") is None:
        return "PyGObject is not installed (pip install 'dictad[tray]')"
    return NO_SESSION_BUS if not session.session_bus else None


def _make_dbus(session: Session, app_name: str) -> Notifier:
    from dictad.desktop.notify._dbus import DbusNotifier

    return DbusNotifier(app_name)


def _make_log(session: Session, app_name: str) -> Notifier:
    from dictad.desktop.notify._log import LogNotifier

    return LogNotifier()


BACKENDS = (
    Backend("dbus", _why_not_dbus, _make_dbus),
    Backend("log", lambda session: None, _make_log),
)
