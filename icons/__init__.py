"""Tray state images, shipped as package data (dictad.icons)."""
