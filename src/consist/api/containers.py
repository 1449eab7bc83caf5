"""Container steps at the api boundary: ``tracker.run(..., container={...})`` becomes an
ordinary step whose callable is a :class:`~consist.core.containers.ContainerJob`, run by the
``"container"`` executor.

Everything here happens before anything is recorded: the spec is checked, the image's ID is
resolved from the engine (so an unreachable engine or a missing image is refused up front),
and the outputs are placed inside the mounts. The step's identity is the job's
(:func:`job_identity`), never the source of this module, so upgrading Consist keeps caches.
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from consist.api.plugins import construct
from consist.core.containers import ContainerJob, Mount, OutputFile
from consist.core.errors import ArgumentError, ArgumentTypeError, OptionValueError
from consist.core.model import validate_key
from consist.core.registry import Registry
from consist.core.workspace import absolute

EXECUTOR = "container"
BACKENDS = ("docker", "podman")
SPEC_KEYS = frozenset(
    {"image", "command", "volumes", "environment", "working_dir", "timeout", "network"}
    | {"engine", "backend"}
)
#: ``tracker.run`` options that have no meaning for a container step, and what to do instead.
REFUSED = {
    "fn_args": "pass values to the command or through container={'environment': {...}}",
    "inject_context": "a container has no RunContext; its log is kept with the run",
    "capture_dir": "list the files it writes in output_paths={key: host path}",
    "outputs": "name each file it writes in output_paths={key: host path}",
    "load_inputs": "inputs are only hashed; mount their folders to hand them over",
}
_ID = re.compile(r"^sha256:[0-9a-f]{64}$")
#: The parameter through which the executor receives the run context.
CONTEXT_PARAM = "ctx"


def job_identity(job: ContainerJob) -> tuple[str, dict[str, Any]]:
    """The step's code digest and the detail ``explain`` compares (``captured.container``)."""
    text = json.dumps(job.identity(), sort_keys=True, separators=(",", ":"))
    digest = "container:" + hashlib.sha256(text.encode()).hexdigest()
    return digest, {"captured": {"container": job.described()}}


def step_arguments(
    fn: Any, given: Mapping[str, Any], registry: Registry
) -> tuple[ContainerJob, dict[str, Any]]:
    """The job standing in for ``fn`` and the run options of the ordinary step it becomes.

    Raises
    ------
    ArgumentTypeError, ArgumentError, OptionValueError
        For a malformed spec or options a container step cannot take.
    ContainerImageNotFoundError, ContainerEngineError
        When the engine is unreachable or lacks the image.
    """
    if fn is not None:
        raise ArgumentTypeError(
            f"run() got fn={fn!r:.60} and container=...; a container step runs its image's "
            "command, not a Python function: pass fn=None and name='...'."
        )
    args = {k: v for k, v in given.items() if v is not None}
    executor = args.pop("executor", EXECUTOR)
    if executor != EXECUTOR:
        raise ArgumentError(
            f"container=... runs on executor='container', but executor={executor!r} was "
            "given; drop executor= or set it to 'container'."
        )
    for option, instead in REFUSED.items():
        if option in args:
            raise ArgumentError(f"a container step takes no {option}=: {instead}.")
    spec = _spec(args.pop("container"))
    image = _text(spec.get("image"), "container['image']", "'travel-model:v2.1'")
    engine = spec.get("engine")
    if engine is not None:
        engine = _text(engine, "container['engine']", "'unix:///var/run/docker.sock'")
    mounts = _mounts(spec.get("volumes") or {})
    outputs = _outputs(args.get("output_paths") or {}, mounts)
    name = validate_key(args.get("name") or default_name(image), "run name")
    working_dir = spec.get("working_dir")
    fields: dict[str, Any] = {
        "command": _command(spec.get("command")),
        "environment": _environment(spec.get("environment") or {}),
        "working_dir": None
        if working_dir is None
        else _container_path(working_dir, "container['working_dir']"),
        "timeout": _timeout(spec.get("timeout")),
        "network": _optional_text(spec.get("network"), "container['network']", "'none'"),
        "backend": _backend(spec.get("backend", "docker")),
    }
    # Asked of the engine last, once everything that can be checked here was.
    image_id = _resolve(registry, engine, image)
    job = ContainerJob(
        image=image,
        image_id=image_id,
        mounts=mounts,
        outputs=outputs,
        engine=engine,
        name=name,
        **fields,
    )
    args.update(
        name=name,
        executor=EXECUTOR,
        inject_context=CONTEXT_PARAM,
        load_inputs=False,
        outputs=[o.key for o in outputs],
        output_paths={o.key: o.host for o in outputs},
    )
    # A hit copies the cached outputs to the host paths asked for, as running would have.
    if outputs:
        args.setdefault("cache_hydration", "outputs-requested")
    return job, args


def default_name(image: str) -> str:
    """A step name from an image reference: its last path segment, without tag or digest."""
    last = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "_", last).strip("._") or "container"
    return cleaned


def _resolve(registry: Registry, engine: str | None, image: str) -> str:
    if _ID.match(image):  # already an ID: nothing to ask the engine
        return image
    if "@sha256:" in image:  # pinned by content digest: immutable like an ID
        return image.split("@", 1)[1]
    executor = construct(registry.get("executor", EXECUTOR))
    return str(executor.resolve_image(engine, image))


def _spec(value: Any) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise ArgumentTypeError(
            f"container={value!r:.80} is a {type(value).__name__}; give a mapping such as "
            "{'image': 'tool:1.0', 'command': ['run', '--year', '2030'], "
            "'volumes': {'/data/in': '/inputs'}}."
        )
    unknown = sorted(set(value) - SPEC_KEYS)
    if unknown:
        raise ArgumentError(f"container= got unknown keys {unknown}; allowed: {sorted(SPEC_KEYS)}.")
    if "image" not in value or "command" not in value:
        missing = [k for k in ("image", "command") if k not in value]
        raise ArgumentError(
            f"container= needs {missing}, e.g. {{'image': 'tool:1.0', 'command': ['run']}}."
        )
    return value


def _text(value: Any, what: str, example: str) -> str:
    if not isinstance(value, str) or not value.strip() or "\0" in value:
        raise ArgumentTypeError(
            f"{what}={value!r:.80} must be a non-empty string such as {example}."
        )
    return value


def _optional_text(value: Any, what: str, example: str) -> str | None:
    return None if value is None else _text(value, what, example)


def _command(value: Any) -> tuple[str, ...] | str:
    if isinstance(value, str):
        return _text(value, "container['command']", "['python', 'run.py']")
    if isinstance(value, (list, tuple)) and value:
        parts = []
        for index, part in enumerate(value):
            if isinstance(part, os.PathLike):
                part = os.fspath(part)
            if isinstance(part, bool) or not isinstance(part, (str, int, float)):
                raise ArgumentTypeError(
                    f"container['command'][{index}]={part!r:.60} is a {type(part).__name__}; "
                    "each part of the command must be a string (or a number)."
                )
            parts.append(str(part))
        return tuple(parts)
    raise ArgumentTypeError(
        f"container['command']={value!r:.80} must be a non-empty list of strings "
        "(['python', 'run.py', '--year', '2030']) or one string run by the image's shell."
    )


def _container_path(value: Any, what: str) -> str:
    text = _text(value, what, "'/outputs'")
    if not text.startswith("/"):
        raise ArgumentError(
            f"{what}={text!r} must be an absolute path inside the container, "
            f"such as '/{text.lstrip('./')}'."
        )
    return posixpath.normpath(text)


def _mounts(volumes: Any) -> tuple[Mount, ...]:
    if not isinstance(volumes, Mapping):
        raise ArgumentTypeError(
            f"container['volumes']={volumes!r:.80} must map host paths to container paths, "
            "e.g. {'/data/inputs': '/inputs', './out': '/outputs:rw'}."
        )
    mounts: list[Mount] = []
    for host, target in volumes.items():
        if not isinstance(host, (str, os.PathLike)):
            raise ArgumentTypeError(f"container['volumes'] key {host!r:.60} must be a host path.")
        read_only = False
        if isinstance(target, str) and target.rsplit(":", 1)[-1] in ("ro", "rw") and ":" in target:
            target, mode = target.rsplit(":", 1)
            read_only = mode == "ro"
        where = f"container['volumes'][{os.fspath(host)!r}]"
        mounts.append(Mount(str(absolute(host)), _container_path(target, where), read_only))
    targets = [m.target for m in mounts]
    repeated = sorted({t for t in targets if targets.count(t) > 1})
    if repeated:
        raise ArgumentError(
            f"container['volumes'] binds several host paths to {repeated}; "
            "each container path can hold one."
        )
    return tuple(mounts)


def _outputs(output_paths: Any, mounts: tuple[Mount, ...]) -> tuple[OutputFile, ...]:
    if not isinstance(output_paths, Mapping):
        raise ArgumentTypeError(
            f"output_paths={output_paths!r:.80} must map output keys to host paths, e.g. "
            "{'results': '/data/outputs/results.parquet'}."
        )
    files = []
    for key, value in output_paths.items():
        key = validate_key(key, "output_paths key")
        if not isinstance(value, (str, os.PathLike)):
            raise ArgumentTypeError(f"output_paths[{key!r}]={value!r:.60} must be a host path.")
        host = absolute(value)  # relative to the current folder, like the volumes
        files.append(OutputFile(key, str(host), _inside(key, host, mounts)))
    return tuple(files)


def _inside(key: str, host: Path, mounts: tuple[Mount, ...]) -> str:
    """Where the container sees ``host``: the deepest mount holding it."""
    best: tuple[int, str] | None = None
    for mount in mounts:
        root = Path(mount.host)
        if host == root or root in host.parents:
            relative = host.relative_to(root).as_posix()
            target = posixpath.join(mount.target, relative) if relative != "." else mount.target
            if best is None or len(root.parts) > best[0]:
                best = (len(root.parts), target)
    if best is None:
        folders = sorted(m.host for m in mounts) or "none"
        raise ArgumentError(
            f"output {key!r} is written to {str(host)!r}, which no container volume holds "
            f"(mounted host folders: {folders}); the container could not write it there. "
            "Mount its folder in container['volumes'] or move the output under one."
        )
    return best[1]


def _environment(value: Any) -> tuple[tuple[str, str], ...]:
    if not isinstance(value, Mapping):
        raise ArgumentTypeError(
            f"container['environment']={value!r:.80} must be a mapping such as {{'YEAR': '2030'}}."
        )
    items = []
    for key, item in value.items():
        if not isinstance(key, str) or not key or "=" in key or "\0" in key:
            raise ArgumentError(f"container['environment'] has an invalid name {key!r:.60}.")
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            raise ArgumentTypeError(
                f"container['environment'][{key!r}]={item!r:.60} is a {type(item).__name__}; "
                "give a string (or a number)."
            )
        items.append((key, str(item)))
    return tuple(sorted(items))


def _timeout(value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ArgumentTypeError(
            f"container['timeout']={value!r:.40} must be a positive number of seconds."
        )
    return float(value)


def _backend(value: Any) -> str:
    if value not in BACKENDS:
        raise OptionValueError(
            "container['backend']",
            value,
            BACKENDS,
            "podman is reached through its docker-compatible socket (container['engine']).",
        )
    return str(value)
