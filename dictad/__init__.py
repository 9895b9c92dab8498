"""dictad: push-to-talk dictation that stays on your machine."""

__version__ = "0.1.0"
