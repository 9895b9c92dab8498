"""``dictad autostart on|off|status``: the XDG autostart entry in a temporary config home."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from dictad import autostart
from dictad.cli import main


@pytest.fixture
def config_home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    return tmp_path / "config"


@pytest.fixture
def installed(tmp_path, monkeypatch) -> Path:
    """A ``dictad`` script on PATH, in a folder whose name needs quoting in an Exec line."""
    bin_dir = tmp_path / "my tools" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "dictad"
    script.write_text("#!/bin/sh\n")
    script.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}")
    return script


def dictad_autostart(capsys, *args: str) -> tuple[int, str]:
    code = main(["autostart", *args])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


def entry_fields(path: Path) -> dict[str, str]:
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "[Desktop Entry]"
    return dict(line.split("=", 1) for line in lines[1:])


def test_on_writes_an_entry_that_runs_the_installed_script(config_home, installed, capsys):
    code, output = dictad_autostart(capsys, "on")
    entry = config_home / "autostart" / "dictad.desktop"
    fields = entry_fields(entry)
    assert code == 0
    assert fields["Exec"] == f'"{installed}" run'
    assert {key: fields[key] for key in ("Type", "Name", "Terminal", "X-GNOME-Autostart-enabled")} == {
        "Type": "Application", "Name": "dictad", "Terminal": "false", "X-GNOME-Autostart-enabled": "true"}
    assert fields["Comment"] and Path(fields["Icon"]).is_file()
    assert f"autostart is on: {entry}" in output
    assert f"exec '{installed}' run" in output and f"exec-once = '{installed}' run" in output


def test_without_the_script_on_path_the_entry_runs_this_python(config_home, monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    dictad_autostart(capsys, "on")
    exec_line = entry_fields(config_home / "autostart" / "dictad.desktop")["Exec"]
    assert exec_line == f"{autostart.exec_value([sys.executable])} -m dictad run"


def test_on_twice_is_fine_and_status_says_where_it_is(config_home, installed, capsys):
    assert dictad_autostart(capsys, "on")[0] == 0
    first = (config_home / "autostart" / "dictad.desktop").read_text()
    assert dictad_autostart(capsys, "on")[0] == 0
    assert (config_home / "autostart" / "dictad.desktop").read_text() == first
    for args in ((), ("status",)):
        code, output = dictad_autostart(capsys, *args)
        assert code == 0
        assert output.startswith(f"autostart is on: {config_home / 'autostart' / 'dictad.desktop'} starts")
        assert "exec-once = " in output


def test_off_removes_the_entry_and_off_again_says_it_was_off(config_home, installed, capsys):
    dictad_autostart(capsys, "on")
    entry = config_home / "autostart" / "dictad.desktop"
    assert dictad_autostart(capsys, "off") == (0, f"autostart is off: removed {entry}\n"
                                               "If you added `dictad run` to a sway or Hyprland config "
                                               "yourself, remove that line there.\n")
    assert not entry.exists()
    assert dictad_autostart(capsys, "off") == (0, f"autostart is already off: there is no {entry}\n")
    code, output = dictad_autostart(capsys)
    assert (code, output.splitlines()[0]) == (0, f"autostart is off: there is no {entry}")


def test_an_entry_switched_off_in_the_desktops_settings_shows_as_off(config_home, installed, capsys):
    dictad_autostart(capsys, "on")
    entry = config_home / "autostart" / "dictad.desktop"
    entry.write_text(entry.read_text().replace("X-GNOME-Autostart-enabled=true", "X-GNOME-Autostart-enabled=false"))
    assert "is there but switched off" in dictad_autostart(capsys, "status")[1]
    dictad_autostart(capsys, "on")
    assert entry_fields(entry)["X-GNOME-Autostart-enabled"] == "true"


def test_a_relative_xdg_config_home_is_ignored_as_the_spec_says(monkeypatch, tmp_path):
    monkeypatch.setenv("XDG_CONFIG_HOME", "relative/config")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert autostart.entry_path() == tmp_path / ".config" / "autostart" / "dictad.desktop"


@pytest.mark.parametrize(("argument", "quoted"), [
    ("/usr/bin/dictad", "/usr/bin/dictad"),
    ("/opt/my tools/dictad", '"/opt/my tools/dictad"'),
    ("/opt/100%/dictad", "/opt/100%%/dictad"),
    ('/opt/a"b$c/dictad', '"/opt/a\\\\"b\\\\$c/dictad"'),  # quoted, then escaped as a desktop-file string
])
def test_exec_arguments_are_quoted_as_the_desktop_entry_spec_asks(argument, quoted):
    assert autostart.exec_value([argument]) == quoted


def test_a_config_home_that_cannot_be_written_is_a_clear_error(tmp_path, monkeypatch, capsys):
    (tmp_path / "a-file").touch()
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "a-file"))
    code, output = dictad_autostart(capsys, "on")
    assert code == 1
    assert output.startswith("dictad: cannot change ") and "Not a directory" in output
