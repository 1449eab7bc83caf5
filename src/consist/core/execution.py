"""What a step receives and what it hands back: binding its arguments from the plan, and
turning its return value (and files it wrote) into the run's outputs."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from consist.core.binding import ParamBinding, config_value
from consist.core.declared import report_missing, settle
from consist.core.errors import OutputError, OutputMissingError
from consist.core.inputs import driver_for
from consist.core.model import Artifact
from consist.core.outputs import map_return_value, missing_outputs
from consist.core.session import RunSession
from consist.core.step import RunnerPorts, StepRequest
from consist.core.workspace import absolute


def bind_arguments(
    ports: RunnerPorts,
    req: StepRequest,
    binding: list[ParamBinding],
    inputs: dict[str, Artifact],
    local_inputs: dict[str, Path],
    passed: set[str],
    session: RunSession,
) -> dict[str, Any]:
    kwargs: dict[str, Any] = {}
    for param in binding:
        if param.source == "fn_args":
            kwargs[param.name] = req.fn_args[param.name]
        elif param.source == "context":
            kwargs[param.name] = ports.shell.context(session)
        elif param.source == "config":
            kwargs[param.name] = req.config
        elif param.source == "config_key":
            kwargs[param.name] = config_value(req.config, param.name)
        elif param.source == "input" and param.name in passed:
            kwargs[param.name] = _input_value(ports, param, inputs[param.name], local_inputs)
    return kwargs


def _input_value(
    ports: RunnerPorts, param: ParamBinding, artifact: Artifact, local_inputs: dict[str, Path]
) -> Any:
    path = local_inputs.get(param.name) or artifact.path
    if param.load == "artifact":
        return artifact
    driver = artifact.driver or driver_for(path)
    # A directory has no driver, so only files reach the frame engine.
    if param.load == "frame" and ports.frames.can_read(driver) and ports.fs.exists(path):
        assert driver is not None
        return ports.frames.read(path, driver, param.frame_type)
    return path


def collect_outputs(ports: RunnerPorts, req: StepRequest, session: RunSession, value: Any) -> None:
    step = f"step {req.name!r}"
    session.commit_pending()
    single = value is not None and ports.frames.is_frame(value)
    for key, item in map_return_value(value, req.outputs, step, single=single):
        if item is not None:
            _log_returned(ports, req, session, key, item)
    for key, path in req.output_paths.items():
        target = absolute(path, session.artifact_dir)
        if key not in session.outputs and ports.fs.exists(target):
            session.log_file(target, key=key)
    settle(session)
    gone = missing_outputs([*req.outputs, *req.output_paths], list(session.outputs))
    report_missing(
        gone,
        req.output_missing,
        step,
        "return them, write them to their output_paths, or remove them from outputs=.",
    )


def _log_returned(
    ports: RunnerPorts, req: StepRequest, session: RunSession, key: str, item: Any
) -> None:
    if isinstance(item, Artifact):
        session.log_existing(item, key=key)
    elif isinstance(item, (str, os.PathLike)):
        candidates = (absolute(item, session.artifact_dir), absolute(item))
        found = next((p for p in candidates if ports.fs.exists(p)), None)
        if found is None:
            raise OutputMissingError(
                f"step {req.name!r} returned {str(item)!r} for output {key!r}, but no such "
                f"file exists (looked in {session.artifact_dir} and the current directory)."
            )
        session.log_file(found, key=key)
    elif ports.frames.is_frame(item):
        session.log_frame(item, key=key, path=req.output_paths.get(key))
    else:
        raise OutputError(
            f"step {req.name!r} returned a {type(item).__name__} for output {key!r}; "
            "outputs must be file paths, Artifacts, DataFrames/Series (pandas or polars), "
            "xarray Datasets/DataArrays, or None. Write other values to a file and return "
            "its path."
        )
