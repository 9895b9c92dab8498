"""The documented default configuration, shipped as package data (dictad.defaults)."""
