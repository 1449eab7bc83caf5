"""A real Docker engine for the container tests: find one, or start ``dockerd`` ourselves.

No registry is reachable from the test machines, so the images are made here: a single
layer holding the host's static busybox, written as a ``docker save`` archive with fixed
timestamps and loaded into the engine. The image ID is the digest of its config, so the
same variant always gets the same ID, on every machine with the same busybox.

Used by ``tests/containers/conftest.py`` (a session fixture) and ``benchmarks/containers.py``.
"""

from __future__ import annotations

import hashlib
import io
import json
import os
import platform
import shutil
import signal
import subprocess
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: Where a dockerd started by the tests keeps its state: a fixed folder, so images loaded
#: by one session are still there for the next (short, because containerd's socket paths
#: must fit in 108 bytes).
STATE_DIR = Path(os.environ.get("CONSIST_TEST_DOCKERD_DIR", "/var/tmp/consist-dockerd"))
BUSYBOX = Path(os.environ.get("CONSIST_TEST_BUSYBOX", "/bin/busybox"))
IMAGE_REPO = "consist-test/busybox"

# Tried in order until an engine answers: the sandboxes we run in may lack iptables, the
# overlay filesystem, or both. --bridge=none keeps the engine away from host networking;
# the tests' containers need no network.
FLAG_SETS: tuple[tuple[str, ...], ...] = (
    ("--bridge=none", "--iptables=false", "--ip6tables=false"),
    ("--bridge=none", "--iptables=false", "--ip6tables=false", "--storage-driver=vfs"),
)


@dataclass
class Engine:
    """A reachable engine: its address, and the daemon process if we started it."""

    base_url: str
    process: subprocess.Popen[bytes] | None = None
    flags: tuple[str, ...] = ()
    notes: list[str] = field(default_factory=list)

    @property
    def started_here(self) -> bool:
        return self.process is not None

    def client(self) -> Any:
        import docker

        return docker.DockerClient(base_url=self.base_url, timeout=60)

    def stop(self) -> None:
        """Stop the daemon if this process started it (an engine found running is left)."""
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(signal.SIGTERM)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


class EngineUnavailable(RuntimeError):
    """No engine could be found or started; the message says what was tried and why."""


def _answers(base_url: str, timeout: float = 3.0) -> bool:
    try:
        import docker

        client = docker.DockerClient(base_url=base_url, timeout=timeout)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


def _candidate_urls() -> list[str]:
    urls = []
    if os.environ.get("DOCKER_HOST"):
        urls.append(os.environ["DOCKER_HOST"])
    urls += ["unix:///var/run/docker.sock", f"unix://{STATE_DIR / 'docker.sock'}"]
    return urls


def find_engine() -> Engine | None:
    """An engine that already answers (``$DOCKER_HOST``, the system socket, ours)."""
    for url in _candidate_urls():
        if url.startswith("unix://") and not Path(url.removeprefix("unix://")).exists():
            continue
        if _answers(url):
            return Engine(url)
    return None


def start_engine(wait: float = 40.0) -> Engine:
    """Start ``dockerd`` with its state under :data:`STATE_DIR`; raise
    :class:`EngineUnavailable` naming every attempt's error if none comes up."""
    dockerd = shutil.which("dockerd")
    if dockerd is None:
        raise EngineUnavailable(
            "no Docker engine answers and dockerd is not installed "
            "(scripts/system-deps.sh installs docker.io on Debian as root)"
        )
    if os.geteuid() != 0:
        raise EngineUnavailable("no Docker engine answers, and starting dockerd needs root")
    STATE_DIR.mkdir(parents=True, exist_ok=True)
    socket = STATE_DIR / "docker.sock"
    failures = []
    for flags in FLAG_SETS:
        log_path = STATE_DIR / "dockerd.log"
        base = [
            dockerd,
            f"--data-root={STATE_DIR / 'data'}",
            f"--exec-root={STATE_DIR / 'x'}",
            f"--pidfile={STATE_DIR / 'dockerd.pid'}",
            f"--host=unix://{socket}",
        ]
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [*base, *flags], stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        url = f"unix://{socket}"
        deadline = time.monotonic() + wait
        while time.monotonic() < deadline and process.poll() is None:
            if socket.exists() and _answers(url):
                return Engine(url, process, flags)
            time.sleep(0.2)
        engine = Engine(url, process, flags)
        engine.stop()
        tail = log_path.read_text(errors="replace").strip().splitlines()[-5:]
        failures.append(f"dockerd {' '.join(flags)}: " + " | ".join(tail))
    raise EngineUnavailable("dockerd did not come up: " + " || ".join(failures))


# -- images -----------------------------------------------------------------------------
def _architecture() -> str:
    machine = platform.machine().lower()
    return {"x86_64": "amd64", "aarch64": "arm64", "arm64": "arm64"}.get(machine, machine)


def _add(tar: tarfile.TarFile, name: str, *, data: bytes | None = None, **attrs: Any) -> None:
    info = tarfile.TarInfo(name)
    info.mtime, info.uid, info.gid, info.uname, info.gname = 0, 0, 0, "", ""
    for key, value in attrs.items():
        setattr(info, key, value)
    if data is not None:
        info.size = len(data)
    tar.addfile(info, io.BytesIO(data) if data is not None else None)


def _applets(busybox: Path) -> list[str]:
    listed = subprocess.run([str(busybox), "--list"], capture_output=True, check=True, text=True)
    return sorted({a for a in listed.stdout.split() if a and "/" not in a and a != "busybox"})


def _layer(busybox: Path, variant: str, files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    # A fixed format and fixed metadata: the layer's bytes, and so the image ID, depend on
    # the busybox binary and the variant only.
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        for folder, mode in (("bin", 0o755), ("etc", 0o755), ("tmp", 0o1777), ("work", 0o777)):
            _add(tar, folder, type=tarfile.DIRTYPE, mode=mode)
        _add(tar, "bin/busybox", data=busybox.read_bytes(), mode=0o755)
        for applet in _applets(busybox):
            _add(tar, f"bin/{applet}", type=tarfile.SYMTYPE, linkname="busybox", mode=0o777)
        _add(tar, "etc/variant", data=f"{variant}\n".encode(), mode=0o644)
        for name, text in sorted(files.items()):
            _add(tar, name, data=text.encode(), mode=0o755)
    return buffer.getvalue()


def image_archive(
    tag: str, variant: str, files: dict[str, str] | None = None, busybox: Path = BUSYBOX
) -> bytes:
    """A ``docker load`` archive of a one-layer busybox image tagged ``tag``, with extra
    executable ``files`` (path in the image -> text)."""
    layer = _layer(busybox, variant, files or {})
    layer_hex = hashlib.sha256(layer).hexdigest()
    config = {
        "architecture": _architecture(),
        "os": "linux",
        "created": "2000-01-01T00:00:00Z",
        "config": {
            "Env": ["PATH=/bin"],
            "Cmd": ["/bin/sh"],
            "WorkingDir": "/work",
            "Labels": {"org.consist.test.variant": variant},
        },
        "rootfs": {"type": "layers", "diff_ids": [f"sha256:{layer_hex}"]},
        "history": [{"created": "2000-01-01T00:00:00Z", "created_by": "consist test image"}],
    }
    config_bytes = json.dumps(config, sort_keys=True, separators=(",", ":")).encode()
    config_hex = hashlib.sha256(config_bytes).hexdigest()
    manifest = [
        {"Config": f"{config_hex}.json", "RepoTags": [tag], "Layers": [f"{layer_hex}/layer.tar"]}
    ]
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        _add(tar, f"{config_hex}.json", data=config_bytes, mode=0o644)
        _add(tar, layer_hex, type=tarfile.DIRTYPE, mode=0o755)
        _add(tar, f"{layer_hex}/layer.tar", data=layer, mode=0o644)
        _add(tar, "manifest.json", data=json.dumps(manifest).encode(), mode=0o644)
    return out.getvalue()


def load_image(client: Any, tag: str, variant: str, files: dict[str, str] | None = None) -> str:
    """Load (or re-tag) the busybox image ``variant`` as ``tag``; returns its image ID."""
    images = client.images.load(image_archive(tag, variant, files))
    image = images[0]
    image.tag(tag)  # loading an image the engine already has may leave the tag elsewhere
    return str(image.id)


#: The usage guide's image: ``python run.py --year Y`` writes /outputs/results.parquet
#: (busybox has no Python, so ``python`` here is a shell running the script).
GUIDE_IMAGE = "travel-model:v2.1"
GUIDE_FILES = {
    "bin/python": '#!/bin/sh\nexec /bin/sh "$@"\n',
    "work/run.py": 'echo "trips for year $2 from $(ls /inputs | wc -l) input files"\n'
    'echo "year,trips" > /outputs/results.parquet\necho "$2,42" >> /outputs/results.parquet\n',
}


def load_guide_image(client: Any) -> str:
    return load_image(client, GUIDE_IMAGE, "travel-model", GUIDE_FILES)


@dataclass(frozen=True)
class ImageSet:
    """The images the container tests use: two variants (different IDs) and a moving tag."""

    one: str
    two: str
    one_id: str
    two_id: str


def build_test_images(client: Any) -> ImageSet:
    one, two = f"{IMAGE_REPO}:1", f"{IMAGE_REPO}:2"
    return ImageSet(one, two, load_image(client, one, "one"), load_image(client, two, "two"))
