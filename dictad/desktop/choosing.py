"""Picking a concern's backend for a session, the way pystray picks its own.

Each concern (hotkey, keyboard, ...) lists its backends in order of preference. A backend has a
cheap check (it imports nothing heavy and grabs nothing, so ``dictad doctor`` can run it) and a
factory that may still find it cannot work and raise ``Unavailable``: the next one is tried then.
Every reason a backend was passed over is kept, in order, for the error and for doctor.
``DICTAD_<CONCERN>_BACKEND`` (e.g. ``DICTAD_HOTKEY_BACKEND=xorg``) limits the choice to one,
for tests and bug reports.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from dictad.desktop.session import Session

log = logging.getLogger(__name__)

T = TypeVar("T")


class Unavailable(Exception):
    """No backend of a concern can serve here; the message says why, in words for the user."""


@dataclass(frozen=True)
class Backend(Generic[T]):
    name: str
    why_not: Callable[[Session], str | None]  # cheap: None when it may work in this session
    make: Callable[..., T]  # (session, *the concern's arguments) -> the backend; may raise Unavailable


@dataclass(frozen=True)
class Choice:
    """What a chooser decided for one concern."""

    concern: str
    chosen: str | None  # the backend's name; None when none fits
    skipped: tuple[tuple[str, str], ...]  # (backend, why) for each one passed over, in order
    forced_by: str = ""  # "DICTAD_HOTKEY_BACKEND=xorg" when the environment chose

    def reason(self) -> str:
        """Why the skipped ones were skipped, for the user; a lone backend's reason as it is."""
        return self.skipped[0][1] if len(self.skipped) == 1 else self._listed()

    def describe(self) -> str:
        """For doctor and the debug log: "xclip; skipped wl-clipboard: ...", "no backend: xorg: ..."."""
        forced = f" (forced by {self.forced_by})" if self.forced_by else ""
        if self.chosen is None:
            return f"no backend{forced}: {self._listed()}"
        return f"{self.chosen}{forced}" + (f"; skipped {self._listed()}" if self.skipped else "")

    def _listed(self) -> str:
        return "; ".join(f"{name}: {why}" for name, why in self.skipped)


def survey(concern: str, backends: tuple[Backend, ...], session: Session,
           environ: Mapping[str, str] = os.environ) -> Choice:
    """Which backend ``choose`` would try to make, from the cheap checks alone."""
    candidates, forced_by, skipped = _candidates(concern, backends, environ)
    for backend in candidates:
        why = backend.why_not(session)
        if why is None:
            return Choice(concern, backend.name, tuple(skipped), forced_by)
        skipped.append((backend.name, why))
    return Choice(concern, None, tuple(skipped), forced_by)


def choose(concern: str, backends: tuple[Backend[T], ...], session: Session, error: type[Unavailable],
           *args: Any, none_fits: str = "", environ: Mapping[str, str] = os.environ) -> T:
    """The first backend that passes its check and can be made with ``args``; raises ``error``
    when none can, saying why each was skipped (or ``none_fits``, if given and nothing was forced)."""
    candidates, forced_by, skipped = _candidates(concern, backends, environ)
    for backend in candidates:
        why = backend.why_not(session)
        if why is None:
            try:
                made = backend.make(session, *args)
            except Unavailable as failure:
                why = str(failure)
            else:
                log.debug("%s: %s", concern, Choice(concern, backend.name, tuple(skipped), forced_by).describe())
                return made
        skipped.append((backend.name, why))
    choice = Choice(concern, None, tuple(skipped), forced_by)
    log.debug("%s: %s", concern, choice.describe())
    raise error(none_fits if none_fits and not forced_by else choice.reason())


def forcing_variable(concern: str) -> str:
    return f"DICTAD_{concern.upper()}_BACKEND"


def _candidates(concern: str, backends: tuple[Backend, ...], environ: Mapping[str, str]
                ) -> tuple[tuple[Backend, ...], str, list[tuple[str, str]]]:
    """The backends to try, what forced them (if anything did), and what is skipped already."""
    variable = forcing_variable(concern)
    wanted = environ.get(variable, "")
    if not wanted:
        return backends, "", []
    forced_by = f"{variable}={wanted}"
    named = tuple(backend for backend in backends if backend.name == wanted)
    if named:
        return named, forced_by, []
    allowed = ", ".join(backend.name for backend in backends)
    return (), forced_by, [(wanted, f"not a {concern} backend ({variable}); choose one of: {allowed}")]

