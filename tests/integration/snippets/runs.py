from pathlib import Path

import pandas as pd
from pydantic import BaseModel

from consist import Tracker


class CleaningConfig(BaseModel):
    threshold: float = 0.5
    remove_outliers: bool = True


tracker = Tracker(
    run_dir="./runs",
    db_path="./provenance.duckdb",
)


@tracker.define_step(outputs=["cleaned"])
def clean_data(raw_file: Path, config: CleaningConfig):
    df = pd.read_csv(raw_file)
    df = df[df["value"] >= config.threshold]
    return {"cleaned": df}


result = tracker.run(
    fn=clean_data,
    inputs={"raw_file": Path("raw.csv")},
    config=CleaningConfig(threshold=0.5),
    load_inputs=True,
)

cleaned_artifact = result.outputs["cleaned"]
