"""A step's options -> a validated :class:`StepRequest` (nothing is recorded yet), and the
defaults ``define_step`` attaches to a step function."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from consist.api import arguments
from consist.api.code import StepIdentity, step_identity
from consist.api.compat_calls import expand_execution_options
from consist.api.containers import job_identity
from consist.api.inputs import resolve_inputs
from consist.api.options import HashingMode
from consist.api.remote import staged_output_paths
from consist.api.run_options import RUN_KEYWORDS, RunOptions
from consist.core.checks import check_tags
from consist.core.containers import ContainerJob
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


def step_setting(name: str) -> Any:
    """A tracker property reading (and replacing) one of its :class:`StepSettings`; a new
    value is checked when the next step is built."""

    def read(tracker: Any) -> Any:
        return getattr(tracker.services.requests.settings, name)

    def write(tracker: Any, value: Any) -> None:
        requests = tracker.services.requests
        requests.settings = requests.settings._replace(**{name: value})

    return property(read, write, doc=f"The ``{name}`` every step is identified with.")


class StepRequests:
    """Builds validated requests with one tracker's settings, registry and workspace."""

    def __init__(
        self,
        settings: StepSettings,
        registry: Registry,
        workspace: Workspace,
        object_digest: Fallback,
    ) -> None:
        self.settings = settings
        self.registry = registry
        self.workspace = workspace
        #: How values the canonical form does not know are digested (plugin hooks).
        self.object_digest = object_digest

    def build(
        self,
        fn: Callable[..., Any] | None,
        args: dict[str, Any],
        code: StepIdentity | tuple[str, str] | None = None,
        scope: StepScope | None = None,
    ) -> StepRequest:
        """Validate every option and compute the step's identity (see :func:`build_request`)."""
        return build_request(
            fn, args, code, scope, self.registry, self.workspace, self.object_digest, self.settings
        )


def step_decorator(
    outputs: Sequence[str] | None,
    tags: Sequence[str] | None,
    description: str | None,
    run_defaults: dict[str, Any],
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """What ``define_step`` returns: a decorator attaching the step's run defaults, whose
    names must be among the options of ``Tracker.run``."""
    allowed = RUN_KEYWORDS
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
    """Refuse ``container=`` where it cannot apply: runs opened by hand (their body is
    Python) and step defaults (``tracker.run`` turns container steps into jobs first)."""
    if "container" in args:
        raise UnsupportedError(
            "container=... is taken by tracker.run(None, name=..., container={...}) and "
            "sc.run(...) calls themselves (or run_container(...)), not by trace/start_run/"
            "begin_run or define_step defaults; pass it in the call."
        )


def build_request(
    fn: Callable[..., Any] | None,
    args: Mapping[str, Any],
    code: StepIdentity | tuple[str, str] | None,
    scope: StepScope | None,
    registry: Registry,
    workspace: Workspace,
    object_digest: Fallback,
    settings: StepSettings,
) -> StepRequest:
    """Check every option once (:class:`RunOptions`; nothing is recorded yet) and compute
    the step's identity.

    ``fn`` is None for runs opened by hand, whose ``code`` identity the caller supplies.
    ``scope`` says where the run belongs (a scenario's defaults; see :class:`StepScope`).
    The remaining arguments are the tracker's registry, workspace, digest of objects the
    canonical form does not know, and settings.
    """
    scope = scope or StepScope()
    args = expand_execution_options(args)
    if scope.cache_hydration is not None:
        args = {"cache_hydration": scope.cache_hydration, **args}
    opts = RunOptions.parse(args)
    registry.get("executor", opts.executor)
    name = opts.name or step_name(fn)
    refs = resolve_inputs(opts.inputs, "input", workspace)
    hydration = check_policy(
        opts.cache_hydration, output_paths=opts.output_paths, materialize_dir=opts.materialize_dir
    )
    refs += resolve_inputs(opts.depends_on, "depends_on", workspace)
    refs += resolve_inputs(opts.hash_inputs, "hash_only", workspace)
    tree = canonicalize(opts.config, fallback=object_digest)
    facet = build_facet(opts.facet, opts.facet_from, opts.config)
    if isinstance(fn, ContainerJob):  # a container step is its job, not this library's code
        digest, detail = job_identity(fn)
        identity = StepIdentity(digest, "container", "", detail)
    elif code is None:
        assert fn is not None
        identity = step_identity(
            fn, opts.fn_args, settings.code_identity, settings.project_root, object_digest
        )
    else:
        identity = code if isinstance(code, StepIdentity) else StepIdentity(*code)
    context = opts.inject_context
    load_inputs = opts.load_inputs
    if load_inputs is None:
        load_inputs = isinstance(opts.inputs, Mapping)
    return StepRequest(
        fn=fn or _no_step,
        name=validate_key(name, "run name"),
        model=validate_key(opts.model or name, "model name"),
        code_digest=identity.code_digest,
        code_mode=identity.code_mode,
        arguments_digest=identity.arguments_digest,
        identity=identity.detail,
        config=opts.config,
        config_digest=tree_digest(tree),
        config_tree=tree,
        inputs=refs,
        run_id=opts.run_id,
        description=opts.description,
        outputs=opts.outputs,
        output_paths=staged_output_paths(opts.output_paths, workspace),
        fn_args=dict(opts.fn_args),
        load_inputs=bool(load_inputs),
        tags=check_tags(opts.tags),
        year=opts.year,
        iteration=opts.iteration,
        cache_mode=opts.cache_mode,
        cache_epoch=settings.cache_epoch,
        hashing=settings.hashing,
        validate_cached_outputs=opts.validate_cached_outputs,
        executor=opts.executor,
        output_missing=opts.output_missing,
        context_param=("_consist_ctx" if context is True else context) or None,
        capture_dir=opts.capture_dir,
        capture_pattern=opts.capture_pattern,
        parent_run_id=opts.parent_run_id or scope.parent_run_id,
        scope=scope,
        cache_hydration=hydration,
        materialize_dir=opts.materialize_dir,
        facet=facet,
        facet_indexed=opts.facet_index,
        artifact_dir=(
            absolute(opts.artifact_dir, workspace.run_dir)
            if opts.artifact_dir is not None
            else None
        ),
    )


def step_name(fn: Callable[..., Any] | None) -> str:
    """The name a step function is recorded under."""
    while isinstance(fn, functools.partial):  # partial(step, k=1) is a call of step
        fn = fn.func
    return getattr(fn, "__name__", None) or type(fn).__name__


def _no_step() -> None:
    """Stands in for the function of a run whose body the caller executes."""
