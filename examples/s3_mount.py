"""Inputs and outputs on an S3 bucket, through a mount.

The script starts its own S3-compatible server (moto) on 127.0.0.1, so it needs no cloud
account: ``pip install 'consist[s3]' 'moto[server]'``. With a real bucket, only the mount
changes (``"s3://my-bucket/project"``, credentials from the usual places).

It shows that

- an input on the bucket is identified by the digest of its bytes and reaches the step as
  a local path;
- an output written to a ``lake://`` path is uploaded and recorded under that address;
- a second workspace on the same database and bucket (a colleague's machine) gets a cache
  hit, and ``cache_hydration="outputs-requested"`` copies the output from the bucket to
  where it asks, verified against the recorded digest.
"""

from __future__ import annotations

import importlib.util
import logging
import shutil
import sys
from pathlib import Path

missing = [m for m in ("s3fs", "boto3", "moto") if importlib.util.find_spec(m) is None]
if missing:
    print(f"skipping: this example needs {', '.join(missing)} (pip install 'consist[s3]' moto)")
    sys.exit(0)

import pandas as pd  # noqa: E402

from consist import Tracker  # noqa: E402
from consist.testing.moto_s3 import moto_server  # noqa: E402

logging.getLogger("werkzeug").setLevel(logging.ERROR)  # the server's request log
workspace = Path("s3-workspace")
shutil.rmtree(workspace, ignore_errors=True)
workspace.mkdir()


def summarise(trips: Path) -> pd.DataFrame:
    """Trips per origin, from a CSV the step receives as a local path."""
    frame = pd.read_csv(trips)
    return frame.groupby("origin", as_index=False)["trips"].sum()


with moto_server() as server:
    bucket = server.make_bucket("travel-data")
    server.client().put_object(
        Bucket="travel-data",
        Key="project/raw/trips.csv",
        Body=b"origin,destination,trips\n1,2,10\n1,3,5\n2,1,7\n",
    )
    lake = {"url": f"{bucket}/project", "storage_options": server.storage_options}

    def step(tracker: Tracker, destination: object, **extra: object) -> object:
        return tracker.run(
            summarise,
            inputs={"trips": "lake://raw/trips.csv"},
            outputs=["per_origin"],
            output_paths={"per_origin": destination},
            **extra,
        )

    mine = Tracker(
        run_dir=workspace / "mine",
        db_path=workspace / "provenance.duckdb",
        mounts={"lake": lake},
    )
    first = step(mine, "lake://results/per_origin.parquet")
    output = first["per_origin"]
    print(f"executed: {not first.cache_hit}; output recorded as {output.uri}")
    print(f"  input identified by {first.inputs['trips'].digest[:24]}...")
    listing = server.client().list_objects_v2(Bucket="travel-data", Prefix="project/results/")
    print(f"  on the bucket: {[o['Key'] for o in listing.get('Contents', [])]}")
    mine.close()

    # A colleague: another workspace, the same database and bucket.
    theirs = Tracker(
        run_dir=workspace / "theirs",
        db_path=workspace / "provenance.duckdb",
        mounts={"lake": lake},
    )
    wanted = workspace / "theirs-copy" / "per_origin.parquet"
    wanted.parent.mkdir()
    again = step(theirs, wanted.resolve(), cache_hydration="outputs-requested")
    print(f"second workspace: cache hit={again.cache_hit}; copied to {wanted}")
    print(pd.read_parquet(wanted).to_string(index=False))
    theirs.close()
