"""Container steps on a real Docker engine: what Consist adds around a container.

Measures medians, in milliseconds, for a trivial command (``echo``) in a one-layer busybox
image:

* **bare**: the same container run straight through the Docker SDK (create, start, wait,
  logs, remove) — the engine's own start cost — and, for reference, ``docker run --rm``;
* **miss**: ``run_container`` executing it (a new environment value each time, so each call
  is a miss); ``miss - bare`` is Consist's overhead (goal <= +50 ms);
* **container hit**: ``run_container`` reusing it (no container starts; one image inspect);
* **function hit**: ``tracker.run`` of a plain Python step reusing it, for comparison
  (the container hit's goal is <= 5 ms).

Run: ``python benchmarks/containers.py [--runs 15]``. It uses ``$DOCKER_HOST`` or the
system engine if one answers, else starts ``dockerd`` (as root) for its duration, like the
tests do (``tests/containers/docker_engine.py``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "containers"))

import docker_engine  # noqa: E402

from consist import Tracker  # noqa: E402
from consist.integrations.containers import run_container  # noqa: E402

COMMAND = ["sh", "-c", "echo done > /out/result.txt"]


def median_ms(samples: list[float]) -> float:
    return statistics.median(samples) * 1000


def bare(client: Any, image_id: str, out: Path, runs: int) -> list[float]:
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        container = client.containers.create(
            image_id, COMMAND, volumes={str(out): {"bind": "/out", "mode": "rw"}}, detach=True
        )
        container.start()
        container.wait()
        container.logs(stdout=True, stderr=True)
        container.logs(stdout=False, stderr=True)
        container.remove(force=True)
        samples.append(time.perf_counter() - start)
    return samples


def docker_cli(base_url: str, image_id: str, out: Path, runs: int) -> list[float]:
    """``docker run --rm`` of the same command, if the docker CLI is installed."""
    docker = shutil.which("docker")
    if docker is None:
        return []
    argv = [docker, "-H", base_url, "run", "--rm", "-v", f"{out}:/out", image_id, *COMMAND]
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True)
        samples.append(time.perf_counter() - start)
    return samples


def step(tracker: Tracker, image: str, out: Path, value: str) -> Any:
    return run_container(
        tracker=tracker,
        run_id=None,
        image=image,
        command=COMMAND,
        volumes={str(out): "/out"},
        outputs={"result": out / "result.txt"},
        environment={"VALUE": value},
    )


def timed(call: Any, runs: int) -> list[float]:
    samples = []
    for index in range(runs):
        start = time.perf_counter()
        call(index)
        samples.append(time.perf_counter() - start)
    return samples


def trivial(config: dict[str, Any]) -> None:
    """A plain Python step that does nothing."""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    runs = parser.parse_args().runs
    engine = docker_engine.find_engine() or docker_engine.start_engine()
    os.environ["DOCKER_HOST"] = engine.base_url
    try:
        client = engine.client()
        images = docker_engine.build_test_images(client)
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            out = root / "out"
            out.mkdir()
            bare(client, images.one_id, out, 2)  # warm the engine's caches
            cli_s = docker_cli(engine.base_url, images.one_id, out, runs)
            with Tracker(root / "ws", root / "provenance.duckdb") as tracker:
                step(tracker, images.one, out, "warm")
                # Bare runs and misses alternate, so load from elsewhere hits both alike.
                bare_s, miss_s = [], []
                for i in range(runs):
                    bare_s += bare(client, images.one_id, out, 1)
                    start = time.perf_counter()
                    step(tracker, images.one, out, f"v{i}")
                    miss_s.append(time.perf_counter() - start)
                tracker.flush()  # hits below look up the database, not the write queue
                hits = timed(lambda i: step(tracker, images.one, out, "v0"), runs)
                assert all(step(tracker, images.one, out, "v0").cache_hit for _ in range(2))
                tracker.run(trivial, config={"k": 1})
                tracker.flush()
                fn_hits = timed(lambda i: tracker.run(trivial, config={"k": 1}), runs)
            lookups = timed(lambda i: client.api.inspect_image(images.one), runs)
    finally:
        engine.stop()
    bare_ms, miss_ms = median_ms(bare_s), median_ms(miss_s)
    hit_ms, fn_ms = median_ms(hits), median_ms(fn_hits)
    print(f"engine: {engine.base_url} (started here: {engine.started_here})")
    print(f"bare container run (SDK)   median {bare_ms:8.1f} ms")
    if cli_s:
        print(f"docker run --rm (CLI)      median {median_ms(cli_s):8.1f} ms")
    print(f"container step, miss       median {miss_ms:8.1f} ms")
    paired = statistics.median(m - b for m, b in zip(miss_s, bare_s, strict=True)) * 1000
    print(f"  overhead beyond bare     median {paired:8.1f} ms   (paired; goal <= 50 ms)")
    print(f"container step, hit        median {hit_ms:8.2f} ms   (goal <= 5 ms)")
    print(f"  of which image lookup    median {median_ms(lookups):8.2f} ms   (one engine call)")
    print(f"plain function step, hit   median {fn_ms:8.2f} ms")
    print(f"  container hit overhead   median {hit_ms - fn_ms:8.2f} ms")


if __name__ == "__main__":
    main()
