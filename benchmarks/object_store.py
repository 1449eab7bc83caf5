"""Artifacts on an object store, against moto's S3 server on 127.0.0.1.

The server runs in a separate process (``python -m moto.server``) so that it does not share
this process's GIL. Prints medians over ``--repeat`` rounds of:

* **upload**: a step's ``--size`` MiB output uploaded and digested by Consist (one pass:
  BLAKE3 while streaming) vs a plain ``s3fs.put_file`` of the same file (no digest);
  goal: Consist at >= 0.9x the plain put's throughput;
* **remote input, first read** vs **hit on the unchanged input**: ``tracker.run`` of a
  trivial step over a ``--size`` MiB object it has never seen (download + digest) vs a
  cache hit on the same object (one HEAD; the ETag+size hint says it is unchanged), with
  the GET requests each made; goal: the hit downloads nothing;
* **download**: Consist's verified download (BLAKE3 while streaming) vs ``s3fs.get_file``;
* **download-cache hit**: ``consist.load``-style locating of a remote artifact whose
  verified blob is already cached (no request but a stat-memoised digest check).

Run: ``python benchmarks/object_store.py`` (defaults: ``--size 512 --repeat 3``).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("moto's server did not start")


def median(fn: Callable[[], Any], repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def interleaved(a: Callable[[], Any], b: Callable[[], Any], repeat: int) -> tuple[float, float]:
    """Medians of ``a`` and ``b``, timed alternately."""
    times_a, times_b = [], []
    for _ in range(repeat):
        times_a.append(median(a, 1))
        times_b.append(median(b, 1))
    return statistics.median(times_a), statistics.median(times_b)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512, help="MiB per file")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    os.environ.update(
        AWS_ACCESS_KEY_ID="bench", AWS_SECRET_ACCESS_KEY="bench", AWS_DEFAULT_REGION="us-east-1"
    )
    port = free_port()
    server = start_server(port)
    try:
        run(args.size, args.repeat, f"http://127.0.0.1:{port}")
    finally:
        server.terminate()
        server.wait(10)


def run(size_mib: int, repeat: int, endpoint: str) -> None:
    import boto3
    import s3fs

    from consist import Tracker
    from consist.adapters.filesystems.fsspec_ import FsspecFileSystem

    client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1")
    client.create_bucket(Bucket="bench")
    work = Path(tempfile.mkdtemp(prefix="consist-objbench-"))
    src = work / "big.bin"
    with open(src, "wb") as f:
        block = os.urandom(1024 * 1024)
        for i in range(size_mib):
            f.write(block[:-8] + i.to_bytes(8, "big"))
    src.read_bytes()  # warm the page cache for both contenders alike

    plain = s3fs.S3FileSystem(endpoint_url=endpoint, skip_instance_cache=True)
    ours = FsspecFileSystem("s3", storage_options={"endpoint_url": endpoint})
    # Interleaved, so drift in the server (memory, other load on the machine) hits both.
    t_put, t_ours = interleaved(
        lambda: plain.put_file(str(src), "bench/plain/big.bin"),
        lambda: ours.upload(src, "s3://bench/ours/big.bin"),
        repeat,
    )
    mib_s = size_mib / t_put, size_mib / t_ours
    print(f"upload {size_mib} MiB  s3fs put_file: {t_put:.2f} s ({mib_s[0]:.0f} MiB/s)")
    print(
        f"upload {size_mib} MiB  consist upload+BLAKE3: {t_ours:.2f} s ({mib_s[1]:.0f} MiB/s)"
        f"  ratio {t_put / t_ours:.2f}x of plain put"
    )

    client.upload_file(str(src), "bench", "inputs/big.bin")
    got = work / "got.bin"
    t_get, t_down = interleaved(
        lambda: plain.get_file("bench/inputs/big.bin", str(got)),
        lambda: ours.download("s3://bench/inputs/big.bin", got),
        repeat,
    )
    print(f"download {size_mib} MiB  s3fs get_file: {t_get:.2f} s ({size_mib / t_get:.0f} MiB/s)")
    print(
        f"download {size_mib} MiB  consist download+BLAKE3: {t_down:.2f} s "
        f"({size_mib / t_down:.0f} MiB/s)  ratio {t_get / t_down:.2f}x of plain get"
    )
    mounts = {"lake": {"url": "s3://bench", "storage_options": {"endpoint_url": endpoint}}}

    def step(data: Path) -> None:
        pass

    first, hit = [], []
    for i in range(repeat):
        with Tracker(work / f"runs{i}", work / f"db{i}.duckdb", mounts=mounts) as tracker:
            start = time.perf_counter()
            tracker.run(step, inputs={"data": "lake://inputs/big.bin"})
            first.append(time.perf_counter() - start)
            start = time.perf_counter()
            result = tracker.run(step, inputs={"data": "lake://inputs/big.bin"})
            hit.append(time.perf_counter() - start)
            assert result.cache_hit
    first_s = statistics.median(first)
    print(f"remote {size_mib} MiB input, first read (download+digest): {first_s:.2f} s")
    print(
        f"remote {size_mib} MiB input, hit on unchanged object (HEAD + hint): "
        f"{statistics.median(hit) * 1000:.1f} ms"
    )

    # A remote artifact with its blob already cached: located without any GET.
    with Tracker(work / "runs0", work / "db0.duckdb", mounts=mounts) as tracker:
        artifact = tracker.get_artifacts_for_run(tracker.find_runs(limit=1)[0].id).inputs["data"]
        locate = tracker.services.access.locate
        time.sleep(2.1)  # past the hash cache's racy window, as any older download is
        locate(artifact)
        t_cached = median(lambda: locate(artifact), max(repeat, 5))
    print(f"download-cache hit (verified blob, no request): {t_cached * 1000:.2f} ms")


if __name__ == "__main__":
    main()
