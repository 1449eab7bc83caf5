"""A step's options -> a validated :class:`StepRequest` (nothing is recorded yet), and the
defaults ``define_step`` attaches to a step function."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from consist.api import arguments, options
from consist.api.capture import capture_folder
from consist.api.code import StepIdentity, step_identity
from consist.api.inputs import resolve_inputs
from consist.api.options import HashingMode
from consist.core.checks import check_tags
from consist.core.errors import ArgumentTypeError, UnsupportedError
from consist.core.facets import build_facet
from consist.core.hydration import check_policy
from consist.core.identity import canonicalize, tree_digest
from consist.core.model import validate_key
from consist.core.step import StepRequest, StepScope
from consist.core.workspace import Workspace, absolute

if TYPE_CHECKING:
    from consist.core.identity.canonical import Fallback
    from consist.core.registry import Registry

STEP_ATTRIBUTE = "__consist_step__"


class StepSettings(NamedTuple):
    """The tracker settings that enter a step's identity (read afresh for every step)."""

    code_identity: str
    project_root: Path | None
    cache_epoch: int
    hashing: HashingMode


def step_decorator(
    run: Callable[..., Any],
    outputs: Sequence[str] | None,
    tags: Sequence[str] | None,
    description: str | None,
    run_defaults: dict[str, Any],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """What ``define_step`` returns: a decorator attaching the step's run defaults, whose
    names must be among the options of ``run`` (``Tracker.run``)."""
    allowed = set(inspect.signature(run).parameters) - {"self", "fn"}
    unknown = sorted(set(run_defaults) - allowed)
    if unknown:
        raise ArgumentTypeError(
            f"define_step() got unknown run options {unknown}; allowed: {sorted(allowed)}."
        )
    if outputs is not None:
        arguments.names(outputs, "outputs")
    defaults = {"outputs": outputs, "tags": tags, "description": description, **run_defaults}
    defaults = {k: v for k, v in defaults.items() if v is not None}

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        setattr(fn, STEP_ATTRIBUTE, defaults)
        return fn

    return decorate


def refuse_unsupported(args: Mapping[str, Any]) -> None:
    """Refuse the run options this version does not carry out."""
    unsupported = {"container": "container" in args}
    names = [name for name, used in unsupported.items() if used]
    if names:
        raise UnsupportedError(
            f"run() options {names} are not available in this version; omit them."
        )


def build_request(
    fn: Callable[..., Any] | None,
    args: dict[str, Any],
    code: tuple[str, str] | None,
    scope: StepScope | None,
    registry: Registry,
    workspace: Workspace,
    object_digest: Fallback,
    settings: StepSettings,
) -> StepRequest:
    """Validate every option (nothing is recorded yet) and compute the step's identity.

    ``fn`` is None for runs opened by hand, whose ``code`` identity the caller supplies.
    ``scope`` says where the run belongs (a scenario's defaults; see :class:`StepScope`).
    The remaining arguments are the tracker's registry, workspace, digest of objects the
    canonical form does not know, and settings.
    """
    code_identity, project_root, cache_epoch, hashing = settings
    scope = scope or StepScope()
    if scope.cache_hydration is not None:
        args = {"cache_hydration": scope.cache_hydration, **args}
    name = args.get("name") or step_name(fn)
    cache_mode = options.cache_mode(args.get("cache_mode", "reuse"))
    validate = options.choice(
        "validate_cached_outputs",
        args.get("validate_cached_outputs", "lazy"),
        options.VALIDATE_MODES,
    )
    output_missing = options.choice(
        "output_missing", args.get("output_missing", "warn"), options.OUTPUT_MISSING_MODES
    )
    executor = args.get("executor", "python")
    registry.get("executor", executor)
    declared = arguments.names(args.get("outputs") or (), "outputs")
    output_paths = {
        validate_key(k, "output_paths key"): Path(
            arguments.path_text(v, f"output_paths[{k!r}]", "out.csv")
        )
        for k, v in arguments.mapping(
            args.get("output_paths") or {}, "output_paths", "{'result': 'result.csv'}"
        ).items()
    }
    raw_inputs = args.get("inputs")
    refs = resolve_inputs(raw_inputs, "input", workspace)
    materialize_dir = args.get("materialize_cached_outputs_dir")
    hydration = check_policy(
        args.get("cache_hydration", "metadata"),
        output_paths=output_paths,
        materialize_dir=materialize_dir,
    )
    refs += resolve_inputs(args.get("depends_on"), "depends_on", workspace)
    refs += resolve_inputs(args.get("hash_inputs"), "hash_only", workspace)
    config = args.get("config")
    tree = canonicalize(config, fallback=object_digest)
    facet = build_facet(args.get("facet"), args.get("facet_from"), config)
    fn_args = arguments.mapping(args.get("fn_args") or {}, "fn_args", "{'alpha': 0.5}")
    if code is None:
        assert fn is not None
        identity = step_identity(fn, fn_args, code_identity, project_root, object_digest)
    else:
        identity = StepIdentity(*code)
    context = args.get("inject_context", False)
    capture_dir = args.get("capture_dir")
    model = args.get("model") or name
    load_inputs = args.get("load_inputs")
    if load_inputs is None:
        load_inputs = isinstance(raw_inputs, Mapping)
    return StepRequest(
        fn=fn or _no_step,
        name=validate_key(name, "run name"),
        model=validate_key(model, "model name"),
        code_digest=identity.code_digest,
        code_mode=identity.code_mode,
        arguments_digest=identity.arguments_digest,
        identity=identity.detail,
        config=config,
        config_digest=tree_digest(tree),
        config_tree=tree,
        inputs=refs,
        run_id=validate_key(args["run_id"], "run_id") if "run_id" in args else None,
        description=args.get("description"),
        outputs=declared,
        output_paths=output_paths,
        fn_args=dict(fn_args),
        load_inputs=bool(load_inputs),
        tags=check_tags(args.get("tags")),
        year=args.get("year"),
        iteration=args.get("iteration"),
        cache_mode=cache_mode,
        cache_epoch=cache_epoch,
        hashing=hashing,
        validate_cached_outputs=validate,
        executor=executor,
        output_missing=output_missing,
        context_param=("_consist_ctx" if context is True else context) or None,
        capture_dir=capture_folder(capture_dir) if capture_dir is not None else None,
        capture_pattern=args.get("capture_pattern", "*"),
        parent_run_id=args.get("parent_run_id", scope.parent_run_id),
        scope=scope,
        cache_hydration=hydration,
        materialize_dir=absolute(materialize_dir) if materialize_dir is not None else None,
        facet=facet,
    )


def step_name(fn: Callable[..., Any] | None) -> str:
    """The name a step function is recorded under."""
    while isinstance(fn, functools.partial):  # partial(step, k=1) is a call of step
        fn = fn.func
    return getattr(fn, "__name__", None) or type(fn).__name__


def _no_step() -> None:
    """Stands in for the function of a run whose body the caller executes."""
