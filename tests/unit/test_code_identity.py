"""Code identity: edits to code that runs are misses; cosmetic and unrelated edits are not.

Each test writes a small project into ``tmp_path`` under module names unique to the test,
imports it, rewrites files, re-imports them and compares identities.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import os
import sys
import textwrap
import time
import types
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from consist.core.errors import ArgumentHashError, OptionValueError
from consist.core.identity import CodeIdentity, code_identity, module_identity
from consist.core.identity._locality import _installed
from consist.core.identity._references import _rebound
from consist.core.identity.arguments import arguments_identity
from consist.core.identity.code import project_root_of, root_of_file


class Project:
    """Modules under a temporary project root; ``PFX_`` in sources is the module prefix."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.prefix = f"cid{uuid.uuid4().hex[:10]}_"
        self._tick = 0

    def path(self, name: str) -> Path:
        return self.root / f"{self.prefix}{name}.py"

    def write(self, name: str, source: str) -> None:
        path = self.path(name)
        path.write_text(textwrap.dedent(source).replace("PFX_", self.prefix))
        # Rewrites within one second must still look changed to stat-based caches.
        self._tick += 1
        stamp = time.time_ns() + self._tick * 2_000_000_000
        os.utime(path, ns=(stamp, stamp))
        importlib.invalidate_caches()

    def load(self, name: str) -> types.ModuleType:
        full = self.prefix + name
        if full in sys.modules:
            return importlib.reload(sys.modules[full])
        return importlib.import_module(full)

    def identity(self, fn: Any, mode: str = "deps") -> CodeIdentity:
        return code_identity(fn, mode, project_root=self.root)

    def digest(self, fn: Any, mode: str = "deps") -> str:
        return self.identity(fn, mode).digest


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Project]:
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(sys, "dont_write_bytecode", True)  # no stale .pyc on fast rewrites
    proj = Project(tmp_path)
    yield proj
    for name in [n for n in sys.modules if n.startswith(proj.prefix)]:
        del sys.modules[name]


HELPERS = """
    THRESHOLD = 3

    def scale(x):
        return x * 2

    def unrelated():
        return "unrelated"
"""

STEP = """
    import json
    import os.path

    import PFX_helpers as helpers

    def local_helper(x):
        return x + 1

    def step(x):
        y = local_helper(helpers.scale(x))
        return json.dumps(os.path.join("out", str(y)))

    def other():
        return 0
"""


def _load_pair(project: Project, step: str = STEP, helpers: str = HELPERS) -> types.ModuleType:
    project.write("helpers", helpers)
    project.write("step", step)
    project.load("helpers")
    return project.load("step")


# -- (a) cosmetic edits ------------------------------------------------------------------


def test_comments_docstrings_and_whitespace_do_not_change_deps(project: Project) -> None:
    before = project.digest(_load_pair(project).step)
    project.write(
        "step",
        '''
        """A module docstring appears."""
        import json
        import os.path

        import PFX_helpers as helpers


        def local_helper(x):
            """Add one."""
            # a comment
            return (x
                    + 1)


        def step(x):
            """Now documented."""
            y = local_helper(helpers.scale(x))   # trailing comment

            return json.dumps(os.path.join("out", str(y)))

        def other():
            return 0
        ''',
    )
    after = project.identity(project.load("step").step)
    assert after.digest == before
    assert after.mode == "deps"


# -- (b) helper edits --------------------------------------------------------------------


def test_editing_a_helper_in_the_same_module_changes_deps(project: Project) -> None:
    before = project.digest(_load_pair(project).step)
    project.write("step", STEP.replace("return x + 1", "return x + 2"))
    assert project.digest(project.load("step").step) != before


def test_editing_a_helper_reached_through_a_module_attribute_changes_deps(
    project: Project,
) -> None:
    step = _load_pair(project)
    before = project.identity(step.step)
    assert f"{project.prefix}helpers.scale" in before.detail
    project.write("helpers", HELPERS.replace("x * 2", "x * 3"))
    project.load("helpers")
    assert project.digest(step.step) != before.digest


def test_editing_a_helper_held_in_a_closure_changes_deps(project: Project) -> None:
    project.write(
        "factory", "def make(fn):\n    def step(x):\n        return fn(x)\n\n    return step\n"
    )
    project.write("helpers", HELPERS)
    factory, helpers = project.load("factory"), project.load("helpers")
    before = project.digest(factory.make(helpers.scale))
    assert project.digest(factory.make(helpers.scale)) == before  # a new closure, same code
    project.write("helpers", HELPERS.replace("x * 2", "x * 5"))
    helpers = project.load("helpers")
    assert project.digest(factory.make(helpers.scale)) != before
    assert project.digest(factory.make(helpers.unrelated)) != before


def test_editing_a_helper_of_a_helper_changes_deps(project: Project) -> None:
    inner = "def core(x):\n    return x - 1\n"
    project.write("inner", inner)
    project.write("helpers", "from PFX_inner import core\n\ndef scale(x):\n    return core(x)\n")
    project.write("step", "from PFX_helpers import scale\n\ndef step(x):\n    return scale(x)\n")
    project.load("inner"), project.load("helpers")
    before = project.identity(project.load("step").step)
    assert f"{project.prefix}inner.core" in before.detail
    project.write("inner", inner.replace("x - 1", "x - 2"))
    project.load("inner"), project.load("helpers")
    assert project.digest(project.load("step").step) != before.digest


def test_a_function_level_import_is_followed(project: Project) -> None:
    project.write("helpers", HELPERS)
    project.write("step", "def step(x):\n    from PFX_helpers import scale\n    return scale(x)\n")
    step = project.load("step")
    before = project.digest(step.step)
    project.write("helpers", HELPERS.replace("x * 2", "x * 7"))
    assert project.digest(step.step) != before


def test_rebinding_a_helper_at_runtime_changes_deps(project: Project) -> None:
    step = _load_pair(project)
    before = project.digest(step.step)
    original = step.local_helper
    step.local_helper = step.other  # monkeypatched: no file changes at all
    patched = project.digest(step.step)
    step.local_helper = original
    assert patched != before
    assert project.digest(step.step) == before
    step.other.__code__ = (lambda: 1).__code__  # other is unrelated: no change
    assert project.digest(step.step) == before
    step.local_helper.__code__ = (lambda x: x - 1).__code__
    assert project.digest(step.step) != before


# -- (c) unrelated edits -----------------------------------------------------------------


def test_editing_an_unrelated_function_does_not_change_deps(project: Project) -> None:
    step = _load_pair(project)
    before = project.digest(step.step)
    project.write("step", STEP.replace("return 0", "return 42"))
    project.write("helpers", HELPERS.replace('"unrelated"', '"changed"'))
    project.load("helpers")
    assert project.digest(project.load("step").step) == before


def test_code_outside_the_project_root_is_not_followed(
    project: Project, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = Project(tmp_path_factory.mktemp("elsewhere"))
    outside.prefix = project.prefix + "ext_"
    sys.path.insert(0, str(outside.root))
    try:
        outside.write("lib", "def f(x):\n    return x\n")
        outside.load("lib")
        project.write("step", "import PFX_ext_lib as lib\n\ndef step(x):\n    return lib.f(x)\n")
        step = project.load("step")
        before = project.identity(step.step)
        outside.write("lib", "def f(x):\n    return -x\n")
        outside.load("lib")
        assert project.digest(step.step) == before.digest
        assert before.detail == (f"{project.prefix}step.step",)
    finally:
        sys.path.remove(str(outside.root))


# -- (d) constants -----------------------------------------------------------------------


def test_referenced_constants_are_read_at_call_time(project: Project) -> None:
    project.write(
        "step",
        """
        THRESHOLD = 3
        WEIGHTS = [1, 2]
        UNUSED = 1

        def step(x):
            return [x * w for w in WEIGHTS if x > THRESHOLD]
        """,
    )
    module = project.load("step")
    before = project.identity(module.step)
    assert f"{project.prefix}step.THRESHOLD" in before.detail
    module.THRESHOLD = 4
    changed = project.digest(module.step)
    module.THRESHOLD = 3.0  # same number, different type: code may behave differently
    assert len({before.digest, changed, project.digest(module.step)}) == 3
    module.THRESHOLD = 3
    # A captured object is digested once: mutating it in place (an accumulator) is not seen,
    # binding the name to a new object is.
    module.WEIGHTS.append(3)
    assert project.digest(module.step) == before.digest
    module.WEIGHTS = [1, 2, 3]
    assert project.digest(module.step) != before.digest
    module.WEIGHTS = [1, 2]
    module.UNUSED = 2
    assert project.digest(module.step) == before.digest


def test_editing_a_constant_in_the_source_changes_deps(project: Project) -> None:
    step = _load_pair(project, step=STEP.replace("helpers.scale(x)", "x + helpers.THRESHOLD"))
    before = project.digest(step.step)
    project.write("helpers", HELPERS.replace("THRESHOLD = 3", "THRESHOLD = 30"))
    project.load("helpers")
    assert project.digest(step.step) != before


def test_module_level_objects_count_by_their_defining_statement(project: Project) -> None:
    source = (
        "import re\n\nPATTERN = re.compile('a+')\n\ndef step(s):\n    return PATTERN.findall(s)\n"
    )
    project.write("step", source)
    before = project.digest(project.load("step").step)
    project.write("step", source.replace("'a+'", "'b+'"))
    assert project.digest(project.load("step").step) != before


# -- (e) third-party code ----------------------------------------------------------------


def test_third_party_and_stdlib_calls_are_ignored(project: Project) -> None:
    step = _load_pair(project)
    identity = project.identity(step.step)
    names = ("step.step", "helpers.scale", "step.local_helper")
    assert identity.detail == tuple(project.prefix + name for name in names)
    assert not any("json" in d or "posixpath" in d for d in identity.detail)
    assert project.digest(step.step) == identity.digest


# -- (f) recursion -----------------------------------------------------------------------


def test_recursion_and_mutual_recursion_terminate(project: Project) -> None:
    source = """
        def is_even(n):
            return True if n == 0 else is_odd(n - 1)

        def is_odd(n):
            return False if n == 0 else is_even(n - 1)

        def fact(n):
            return 1 if n <= 1 else n * fact(n - 1)
    """
    project.write("rec", source)
    module = project.load("rec")
    even = project.identity(module.is_even)
    assert f"{project.prefix}rec.is_odd" in even.detail
    assert project.digest(module.fact) == project.digest(module.fact)
    project.write("rec", source.replace("return False if", "return bool(0) if"))
    assert project.digest(project.load("rec").is_even) != even.digest


# -- (g) no source -----------------------------------------------------------------------


def test_functions_without_source_fall_back_to_bytecode() -> None:
    root = Path.cwd()
    plus_one = code_identity(eval("lambda x: x + 1"), "deps", project_root=root)
    plus_two = code_identity(eval("lambda x: x + 2"), "deps", project_root=root)
    again = code_identity(eval("lambda x: x + 1"), "deps", project_root=root)
    namespace: dict[str, Any] = {}
    exec("def f(x, k=1):\n    return x * k\n", namespace)
    other_default: dict[str, Any] = {}
    exec("def f(x, k=2):\n    return x * k\n", other_default)
    assert plus_one.mode == plus_two.mode == "bytecode"
    assert plus_one.digest != plus_two.digest
    assert plus_one.digest == again.digest
    f1 = code_identity(namespace["f"], "source", project_root=root)
    f2 = code_identity(other_default["f"], "source", project_root=root)
    assert f1.mode == "bytecode" and f1.digest != f2.digest
    assert code_identity(len, "deps", project_root=root).mode == "bytecode"


def test_an_edited_but_not_reimported_module_never_shares_an_identity(project: Project) -> None:
    step = _load_pair(project)
    old_code = project.digest(step.step)
    project.write("step", STEP.replace("return x + 1", "return x + 9"))  # not reloaded
    stale = project.digest(step.step)
    fresh = project.digest(project.load("step").step)
    assert len({old_code, stale, fresh}) == 3


# -- (h) methods, partials, decorators, callables ---------------------------------------

CLASSES = """
    import functools

    def timed(fn):
        @functools.wraps(fn)
        def wrapper(*args):
            return fn(*args)
        return wrapper

    @timed
    def decorated(x):
        return x + 1

    @functools.lru_cache(maxsize=None)
    def cached(x):
        return x + 1

    def combine(a, b):
        return a + b

    class Model:
        def __init__(self, k):
            self.k = k

        def run(self, x):
            return self.inner(x) * self.k

        def inner(self, x):
            return x

        def __call__(self, x):
            return self.run(x)
"""


def test_bound_methods_ignore_the_instance_but_see_the_class(project: Project) -> None:
    project.write("classes", CLASSES)
    module = project.load("classes")
    before = project.digest(module.Model(1).run)
    assert project.digest(module.Model(99).run) == before
    assert project.digest(module.Model(1)) == project.digest(module.Model(2))  # callable
    project.write("classes", CLASSES.replace("return x\n", "return -x\n"))
    module = project.load("classes")
    assert project.digest(module.Model(1).run) != before  # self.inner() changed
    assert project.digest(module.Model(1).run, "source") == project.digest(
        module.Model(5).run, "source"
    )


def test_a_bound_method_used_as_a_helper_brings_its_class(project: Project) -> None:
    tail = "\nSOLVE = Model(2).run\n\ndef step(x):\n    return SOLVE(x)\n"
    project.write("classes", textwrap.dedent(CLASSES) + tail)
    before = project.digest(project.load("classes").step)
    edited = textwrap.dedent(CLASSES).replace("return x\n", "return -x\n")
    project.write("classes", edited + tail)
    assert project.digest(project.load("classes").step) != before


def test_partial_arguments_are_arguments_not_code(project: Project) -> None:
    project.write("classes", CLASSES)
    module = project.load("classes")
    code = project.digest(module.combine)
    assert project.digest(functools.partial(module.combine, 2)) == code
    two = arguments_identity(functools.partial(module.combine, 2), {})
    assert arguments_identity(functools.partial(module.combine, 2), {}) == two
    assert arguments_identity(functools.partial(module.combine, 3), {}).digest != two.digest
    # Named by the parameter they bind: positional, keyword and fn_args are one call.
    params = list(inspect.signature(module.combine).parameters)
    first = params[0]
    assert arguments_identity(functools.partial(module.combine, **{first: 2}), {}) == two
    assert arguments_identity(module.combine, {first: 2}) == two
    assert arguments_identity(module.combine, {}).digest == ""
    with pytest.raises(ArgumentHashError, match=r"fn_args\[.*\].*__consist_identity__"):
        arguments_identity(functools.partial(module.combine, object()), {})


def test_decorated_functions_include_the_wrapped_code(project: Project) -> None:
    project.write("classes", CLASSES)
    module = project.load("classes")
    wrapped, cached = project.identity(module.decorated), project.identity(module.cached)
    wrapped_source = project.digest(module.decorated, "source")
    assert f"{project.prefix}classes.decorated" in wrapped.detail
    assert f"{project.prefix}classes.timed.<locals>.wrapper" in wrapped.detail
    project.write("classes", CLASSES.replace("return x + 1", "return x + 2"))
    module = project.load("classes")
    assert project.digest(module.decorated) != wrapped.digest
    assert project.digest(module.decorated, "source") != wrapped_source
    assert project.digest(module.cached) != cached.digest


# -- (i) modes ----------------------------------------------------------------------------


def test_source_mode_ignores_helper_edits_that_deps_sees(project: Project) -> None:
    step = _load_pair(project)
    source, deps = project.digest(step.step, "source"), project.digest(step.step)
    assert source != deps
    project.write("helpers", HELPERS.replace("x * 2", "x * 4"))
    project.load("helpers")
    assert project.digest(step.step, "source") == source
    assert project.digest(step.step) != deps
    project.write("step", STEP.replace('"out"', '"elsewhere"'))
    assert project.digest(project.load("step").step, "source") != source


def test_module_mode_digests_the_whole_file(project: Project) -> None:
    step = _load_pair(project)
    identity = project.identity(step.step, "module")
    assert identity.mode == "module"
    assert identity.digest == module_identity(project.path("step")).digest
    project.write("helpers", HELPERS.replace("x * 2", "x * 4"))
    assert project.digest(project.load("step").step, "module") == identity.digest
    project.write("step", STEP.replace("return 0", "return 1"))
    assert project.digest(project.load("step").step, "module") != identity.digest


def test_unknown_modes_are_rejected(project: Project) -> None:
    with pytest.raises(OptionValueError):
        code_identity(len, "git", project_root=project.root)


# -- speed ---------------------------------------------------------------------------------


def test_a_repeat_call_is_memoised_and_fast(project: Project) -> None:
    step = _load_pair(project)
    expected = project.digest(step.step)
    best = float("inf")
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(200):
            digest = project.digest(step.step)
        best = min(best, (time.perf_counter() - start) / 200)
    assert digest == expected
    assert best < 50e-6


def test_project_root_is_found_from_the_source_file(
    tmp_path: Path, project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    project.write("alone", "def step():\n    return 1\n")
    step = project.load("alone").step
    assert project_root_of(step) == tmp_path.resolve()  # no marker: the file's folder
    nested = tmp_path / "repo" / "pkg"
    nested.mkdir(parents=True)
    (tmp_path / "repo" / "setup.cfg").write_text("")
    assert root_of_file(nested / "x.py") == Path.cwd()  # not a file: the prompt's folder
    (nested / "x.py").write_text("")
    assert root_of_file(nested / "x.py") == (tmp_path / "repo").resolve()
    monkeypatch.chdir(nested)  # the launch folder never matters
    assert project_root_of(step) == tmp_path.resolve()


def test_installed_packages_count_by_distribution_and_version(project: Project) -> None:
    project.write(
        "uses",
        """
        import json
        import numpy as np
        import pydantic

        def step(x):
            return np.asarray(x), json.dumps(x), pydantic.BaseModel
        """,
    )
    detail = project.identity(project.load("uses").step).detail
    assert "dist:numpy" in detail and "dist:pydantic" in detail
    assert not any("json" in label for label in detail)  # the standard library: nothing
    assert _installed("numpy") == ("numpy", np.__version__)
    assert _installed("os.path") is None and _installed("__main__") is None


def test_names_a_step_rebinds_are_its_own_state(project: Project) -> None:
    project.write(
        "counter",
        """
        COUNT = 0
        LIMIT = 5

        def step():
            global COUNT
            COUNT += 1
            return COUNT < LIMIT
        """,
    )
    module = project.load("counter")
    before = project.identity(module.step)
    assert not any("COUNT" in label for label in before.detail)
    module.COUNT = 7
    assert project.digest(module.step) == before.digest
    module.LIMIT = 6
    assert project.digest(module.step) != before.digest
    assert _rebound(module.step.__code__) == frozenset({"COUNT"})


def test_captured_values_are_shown_for_explanations(project: Project) -> None:
    project.write(
        "factory",
        """
        def make(factor, table):
            def step():
                return factor, table
            return step
        """,
    )
    module = project.load("factory")
    shown = dict(project.identity(module.make(3, list(range(500)))).captured)
    assert shown["closure.factor"] == "3"
    assert shown["closure.table"].startswith("sha256:")  # long values by digest
