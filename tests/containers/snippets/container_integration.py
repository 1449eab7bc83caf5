# The usage guide's "Container Integration" snippet, verbatim (its names come from the test).
# ruff: noqa: F821
from consist.integrations.containers import run_container

result = run_container(
    tracker=tracker,
    run_id="model_2030",
    image="travel-model:v2.1",
    command=["python", "run.py", "--year", "2030"],
    volumes={"/data/inputs": "/inputs", "/data/outputs": "/outputs"},
    inputs=[input_artifact],
    outputs={"results": Path("/data/outputs/results.parquet")},
)

output_artifact = result.artifacts["results"]
