"""A step that runs in a container: identified by the image's ID, cached like any step.

Needs the Docker SDK (``pip install 'consist[containers]'``), a reachable Docker engine
(``$DOCKER_HOST`` or the system socket) and a small image already on that engine: the
first of ``$CONSIST_EXAMPLE_IMAGE``, ``busybox:latest``, ``alpine:latest`` and
``consist-test/busybox:1`` (the test suite's image) it finds. Consist never pulls images,
and neither does this example. Without an engine or an image it says so and exits successfully.

The container counts the lines of a CSV on a mounted folder. The second call is a cache
hit: no container starts, and the recorded output is copied back to the host path.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import sys
from pathlib import Path


def usable_image() -> str | None:
    """A reachable engine's first locally available candidate image, or None (says why)."""
    if importlib.util.find_spec("docker") is None:
        print("skipping: the Docker SDK is not installed (pip install 'consist[containers]')")
        return None
    import docker

    try:
        client = docker.from_env(timeout=5)
        client.ping()
    except Exception as exc:  # any failure to reach the engine means: nothing to show here
        print(f"skipping: no Docker engine is reachable ({type(exc).__name__}: {exc})")
        return None
    candidates = [os.environ.get("CONSIST_EXAMPLE_IMAGE", ""), "busybox:latest"]
    candidates += ["alpine:latest", "consist-test/busybox:1"]
    try:
        for name in filter(None, candidates):
            try:
                client.images.get(name)
                return name
            except docker.errors.ImageNotFound:
                continue
    finally:
        client.close()
    print(f"skipping: none of {', '.join(filter(None, candidates))} is on the engine")
    return None


image = usable_image()
if image is None:
    sys.exit(0)

from consist import Tracker  # noqa: E402
from consist.integrations.containers import run_container  # noqa: E402

workspace = Path("container-workspace").resolve()
shutil.rmtree(workspace, ignore_errors=True)
(workspace / "in").mkdir(parents=True)
(workspace / "out").mkdir()
data = workspace / "in" / "trips.csv"
data.write_text("origin,destination,trips\n1,2,10\n2,1,7\n1,3,4\n")

tracker = Tracker(
    run_dir=workspace / "runs",
    db_path=workspace / "provenance.duckdb",
    mounts={"data": workspace / "in"},  # inputs recorded as data://trips.csv
)
for attempt in (1, 2):
    result = run_container(
        tracker=tracker,
        run_id="count_lines",
        image=image,
        command="wc -l < /data/in/trips.csv > /data/out/count.txt",  # a string runs in sh -c
        volumes={workspace / "in": "/data/in:ro", workspace / "out": "/data/out"},
        inputs=[data],
        outputs={"count": workspace / "out" / "count.txt"},
    )
    print(
        f"call {attempt}: cache hit={result.cache_hit}, image {result.image_digest[:19]}..., "
        f"count={(workspace / 'out' / 'count.txt').read_text().strip()}"
    )
tracker.close()
