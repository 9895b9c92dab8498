"""A private PulseAudio whose null sink ``virt`` is the default speaker and whose monitor
``virt.monitor`` is the default microphone: what a test plays into ``virt`` is what the code under
test records, in real time, through PortAudio and ALSA's pulse plugin, as on a desktop.

Fixtures: ``audio_rig`` (session-wide) and ``microphone_48k`` (a second microphone that records
only at 48 kHz, through JACK); outside pytest, ``running_pulseaudio`` is the context manager
``audio_rig`` wraps. ``audio_rig`` sets PULSE_SERVER and ALSA_CONFIG_PATH in this process,
so that it and every process it starts (a daemon under test) use the private server; HOME and
XDG_RUNTIME_DIR stay as they are.

PortAudio lists devices and reads ALSA's configuration once, when it initialises; the fixtures
re-initialise it after changing either, which closes every open PortAudio stream of the process.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import sounddevice as sd

from tests.rig.environment import environment
from tests.rig.processes import dying_with_this_process
from tests.rig.speech import require_tools
from tests.rig.waiting import wait_until

ALSA_THROUGH_PULSE = "</usr/share/alsa/alsa.conf>\npcm.!default { type pulse }\nctl.!default { type pulse }\n"
SERVER_SCRIPT = """\
load-module module-native-protocol-unix auth-anonymous=1
load-module module-null-sink sink_name=virt
set-default-sink virt
set-default-source virt.monitor
"""
# One JACK server per test process: test runs side by side must not share (or stop) each other's.
JACK_SERVER = f"dictad-test-{os.getpid()}"
MIC_48K_ALSA = 'pcm.mic48 { type jack; capture_ports { 0 "virt48:front-left" } }\n'
STARTUP_TIMEOUT_S = 10.0


def reinitialize_portaudio() -> None:
    """Make PortAudio read ALSA's configuration and list the devices again."""
    sd._terminate()
    sd._initialize()


@dataclass(frozen=True)
class AudioRig:
    root: Path
    sink: str = "virt"

    @property
    def alsa_config(self) -> Path:
        return self.root / "asound.conf"

    def play(self, wav: Path, sink: str | None = None) -> subprocess.Popen[bytes]:
        """Start playing ``wav`` into ``sink`` (default: the virtual microphone's) in real time;
        ``.wait()`` on the result for the end."""
        return subprocess.Popen(["paplay", f"--device={sink or self.sink}", str(wav)])

    def pactl(self, *args: str) -> str:
        return subprocess.run(["pactl", *args], check=True, capture_output=True, text=True).stdout

    def unplug_microphone(self) -> None:
        """Remove the null sink and with it the default microphone, as when a USB mic is pulled."""
        self.pactl("unload-module", self._module_of(f"sink_name={self.sink}"))

    def plug_in_microphone(self) -> None:
        """Bring the null sink and its monitor back as the default speaker and microphone."""
        self.pactl("load-module", "module-null-sink", f"sink_name={self.sink}")
        self.pactl("set-default-source", f"{self.sink}.monitor")

    @contextlib.contextmanager
    def another_microphone(self, name: str = "usbmic") -> Iterator[Microphone]:
        """A second microphone, as when a USB one is plugged in: the ALSA device ``name`` hears
        what is played into a new sink of its own. Only a PortAudio that starts (or restarts)
        meanwhile lists it; this process's PortAudio forgets it on the way out, so no stream of
        this process may be open then."""
        sink = f"{name}_sink"
        module = self.pactl("load-module", "module-null-sink", f"sink_name={sink}").strip()
        config = self.alsa_config.read_text()
        self.alsa_config.write_text(config + f'pcm.{name} {{ type pulse; device "{sink}.monitor" }}\n')
        try:
            yield Microphone(device=name, sink=sink)
        finally:
            self.alsa_config.write_text(config)
            self.pactl("unload-module", module)
            reinitialize_portaudio()

    def _module_of(self, argument: str) -> str:
        for line in self.pactl("list", "short", "modules").splitlines():
            index, _name, *arguments = line.split("\t")
            if argument in " ".join(arguments).split():
                return index
        raise LookupError(f"no PulseAudio module loaded with {argument}")


@dataclass(frozen=True)
class Microphone:
    device: str
    """Its name in PortAudio's device list (what audio.device is set to)."""
    sink: str
    """What is played into this PulseAudio sink, the microphone hears."""


@contextlib.contextmanager
def running_pulseaudio(folder: Path) -> Iterator[AudioRig]:
    """A private PulseAudio server with a virtual microphone, its files in ``folder``, while the block runs."""
    rig = AudioRig(root=folder)
    server_home, runtime_dir = rig.root / "home", rig.root / "run"
    for each in (server_home, runtime_dir):
        each.mkdir(mode=0o700)
    rig.alsa_config.write_text(ALSA_THROUGH_PULSE)
    (rig.root / "server.pa").write_text(SERVER_SCRIPT)
    log_path = rig.root / "pulseaudio.log"
    with environment(PULSE_SERVER=f"unix:{runtime_dir}/pulse/native", ALSA_CONFIG_PATH=str(rig.alsa_config),
                     JACK_DEFAULT_SERVER=JACK_SERVER, JACK_NO_START_SERVER="1"):
        with environment(HOME=str(server_home), XDG_RUNTIME_DIR=str(runtime_dir)), open(log_path, "wb") as log:
            server = subprocess.Popen(
                dying_with_this_process(["pulseaudio", "-n", "-F", str(rig.root / "server.pa"),
                                         "--exit-idle-time=-1", "--daemonize=no"]),
                stdout=log, stderr=subprocess.STDOUT,
            )
        try:
            wait_until(lambda: server.poll() is not None or _answers(), STARTUP_TIMEOUT_S, "PulseAudio to start")
            if server.poll() is not None:
                raise RuntimeError(f"PulseAudio exited at start: {log_path.read_text()[-2000:]}")
            reinitialize_portaudio()
            yield rig
        finally:
            server.terminate()
            server.wait(timeout=10)
    reinitialize_portaudio()


@pytest.fixture(scope="session")
def audio_rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AudioRig]:
    """A private PulseAudio server with a virtual microphone, for the whole test session."""
    require_tools("pulseaudio", "pactl", "paplay")
    with contextlib.ExitStack() as running:
        try:
            rig = running.enter_context(running_pulseaudio(tmp_path_factory.mktemp("audio-rig")))
        except RuntimeError as error:
            pytest.fail(str(error))
        yield rig


def _answers() -> bool:
    return subprocess.run(["pactl", "info"], capture_output=True).returncode == 0


@pytest.fixture(scope="session")
def microphone_48k(audio_rig: AudioRig) -> Iterator[Microphone]:
    """A microphone ``mic48`` that records only at 48 kHz (a JACK server's rate, through ALSA's jack
    plugin) and hears what is played into the PulseAudio sink ``virt48``.

    Re-initialises PortAudio when first used, so no PortAudio stream may be open at that moment.
    """
    if shutil.which("jackd") is None or not list(Path("/usr/lib").glob("pulse-*/modules/module-jack-sink.so")):
        pytest.skip("a 48 kHz-only microphone needs JACK: apt-get install jackd2 pulseaudio-module-jack")
    log_path = audio_rig.root / "jackd.log"
    with open(log_path, "wb") as log:
        jackd = subprocess.Popen(
            dying_with_this_process(["jackd", "--no-realtime", "--name", JACK_SERVER,
                                     "-d", "dummy", "-r", "48000", "-p", "1024"]),
            stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        wait_until(lambda: _load_jack_sink() or jackd.poll() is not None, STARTUP_TIMEOUT_S,
                   "PulseAudio to connect to the JACK server")
        if jackd.poll() is not None:
            pytest.fail(f"jackd exited at start: {log_path.read_text()[-2000:]}{_full_registry_hint(log_path)}")
        audio_rig.alsa_config.write_text(ALSA_THROUGH_PULSE + MIC_48K_ALSA)
        reinitialize_portaudio()
        yield Microphone(device="mic48", sink="virt48")
    finally:
        # PortAudio's own JACK client must leave while the server is still there: terminating
        # PortAudio after jackd is gone aborts the whole process.
        sd._terminate()
        audio_rig.alsa_config.write_text(ALSA_THROUGH_PULSE)
        _stop_jack(jackd)
        sd._initialize()


def _stop_jack(jackd: subprocess.Popen[bytes]) -> None:
    """Unload the PulseAudio sink, then stop the JACK server.

    jackd lets the sink's client go a moment after PulseAudio has unloaded it. Stopped before
    that, it waits 5 s for the client, dies of SIGPIPE and stays in JACK's registry of servers,
    which holds 8: a few test runs later, every start fails with "Too many servers already active".
    """
    subprocess.run(["pactl", "unload-module", "module-jack-sink"], capture_output=True)
    try:
        wait_until(lambda: "virt48:" not in _jack_ports(), STARTUP_TIMEOUT_S, "JACK to let the PulseAudio sink go")
    finally:
        jackd.terminate()
        jackd.wait(timeout=10)


def _full_registry_hint(log_path: Path) -> str:
    if "Too many servers" not in log_path.read_text():
        return ""
    return ("\nJACK's registry of servers is full of servers that died without leaving it: "
            "with no jackd running, remove /dev/shm/jack-shm-registry")


def _jack_ports() -> str:
    return subprocess.run(["jack_lsp"], capture_output=True, text=True).stdout


def _load_jack_sink() -> bool:
    loaded = subprocess.run(["pactl", "load-module", "module-jack-sink", "sink_name=virt48", "client_name=virt48",
                             f"server_name={JACK_SERVER}", "connect=no"], capture_output=True)
    return loaded.returncode == 0
