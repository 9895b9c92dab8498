"""Where the speech is in a recording that is still growing: Silero VAD, fed as the audio arrives.

faster-whisper's ``SileroVADModel`` scores a whole clip in one call, the recurrent state starting
from zero each time; scoring the whole dictation again at every 100 ms block would cost tens of
milliseconds a call, on the path after the key comes up too. The same ONNX model carries its
state (and 64 samples of context) from one call to the next, so each call here scores only the
windows it has not seen, and the probabilities hardly depend on how the audio was cut into calls
(tests/test_streaming.py holds them within 0.05 of the whole-clip call's).
"""

from __future__ import annotations

import numpy as np

VAD_WINDOW = 512
"""Samples per speech probability (32 ms at 16 kHz)."""
CONTEXT = 64
"""Samples of the previous window the model sees before each window."""
STATE_SHAPE = (1, 1, 128)


class SpeechDetector:
    """Speech probabilities for one growing recording (not thread-safe: one caller at a time)."""

    def __init__(self, model: object):
        """``model`` is faster-whisper's ``SileroVADModel`` (``faster_whisper.vad.get_vad_model()``):
        1.2.1's, one ONNX session that takes the state (1.2.0's has two), hence the pin in pyproject.toml."""
        self._session = model.session  # type: ignore[attr-defined]
        self._h = np.zeros(STATE_SHAPE, np.float32)
        self._c = np.zeros(STATE_SHAPE, np.float32)
        self._context = np.zeros(CONTEXT, np.float32)
        self._probabilities = np.zeros(0, np.float32)

    def update(self, audio: np.ndarray, final: bool = False) -> np.ndarray:
        """The speech probability of each complete window of ``audio``: the recording so far, which
        begins with the audio of every earlier call. A partial last window waits for the next call,
        or, when the recording is ``final``, is scored padded with silence."""
        if final and len(audio) % VAD_WINDOW:
            audio = np.concatenate([audio, np.zeros(-len(audio) % VAD_WINDOW, np.float32)])
        scored = len(self._probabilities) * VAD_WINDOW
        complete = len(audio) // VAD_WINDOW * VAD_WINDOW
        if complete > scored:
            windows = np.ascontiguousarray(audio[scored:complete], np.float32).reshape(-1, VAD_WINDOW)
            contexts = np.concatenate([self._context[None], windows[:-1, -CONTEXT:]])
            scores, self._h, self._c = self._session.run(
                None, {"input": np.concatenate([contexts, windows], axis=1), "h": self._h, "c": self._c})
            self._context = windows[-1, -CONTEXT:].copy()
            self._probabilities = np.concatenate([self._probabilities, np.asarray(scores, np.float32).reshape(-1)])
        return self._probabilities
