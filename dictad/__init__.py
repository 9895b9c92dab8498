"""dictad: push-to-talk dictation that stays on your machine.

One dictation's trip through the code:

- ``desktop/hotkey/`` reports the hotkey's press and release (X11: a key grab), and
  ``control.py`` the commands of ``dictad start|stop|toggle|cancel``; ``input_policy.py`` turns
  both into start, stop and cancel (hold, toggle, Escape).
- ``recording.py`` starts the microphone (``recorder.py``, ``microphones.py``,
  ``dictation_audio.py``) and, with streaming, a draft decoder (``streaming.py``, ``vad.py``) that
  decodes the speech ahead while the key is held; at release the recording goes to the worker.
- ``daemon.py``'s worker calls ``pipeline.take_trip``, the whole trip in one function:
  ``transcriber.py`` (``short_window.py``, ``whisper_model.py``) -> ``replacements.py`` and
  ``cleanup/`` -> ``inject/`` (the delivery policy, over ``desktop/keyboard/``, ``desktop/focus/``
  and ``desktop/clipboard/``) -> ``history.py``.
- ``state.py`` holds the one state record that the tray (``desktop/tray/``), ``dictad status``
  and the event log (``events.py``) show; ``settings.py`` the live config (``config.py``).
- ``desktop/session.py`` decides once which desktop this is, and each concern's chooser
  (``desktop/choosing.py``) picks its backend for it; ``app.py`` wires everything to the real
  desktop, ``cli.py`` is the command line and ``doctor.py`` checks it all.
"""

__version__ = "0.1.0"
