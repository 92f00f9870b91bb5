"""What the dependency files tell POL311, as project-index tables.

Like those of deployment_tables.py (scopes and worker counts), each is asked
through `index.table(...)`, so the cache logs it like any other question: a
changed requirements file, or a dependency turned async, re-checks only the
files whose answers changed.
"""

from __future__ import annotations

from typing import Optional, Tuple

from poollint.deployment import DEPENDENCY_KINDS, LOCK_KINDS, DeploymentFacts, Pin
from poollint.deployment_tables import governing
from poollint.facts import FunctionFact, ModuleFacts
from poollint.project import ProjectIndex, Resource, index_table, is_test_module
from poollint.versions import admits_only_below

# The first FastAPI release whose sync yield dependencies run their exit code
# outside the thread pool's capacity limiter (so it cannot deadlock).
FASTAPI_FIXED_IN = "0.82"

# (module path, line, function, what it opens) of a sync yield dependency.
Dependency = Tuple[str, int, str, str]


def is_old_fastapi(pin: Pin) -> bool:
    """A requirement of FastAPI every admitted version of which is older than the fix."""
    return (
        pin.package == "fastapi"
        and not pin.conditional
        and not pin.unknown
        and admits_only_below(pin.spec, FASTAPI_FIXED_IN, pin.style) is True
    )


def _requires_fastapi(facts: DeploymentFacts) -> bool:
    return facts.kind in DEPENDENCY_KINDS and any(pin.package == "fastapi" for pin in facts.pins)


@index_table("fastapi_old_in_manifest")
def _old_in_manifest(index: ProjectIndex, scope: str) -> bool:
    """Whether a requirements file, pyproject.toml or Pipfile of `scope` (not
    a lock) already bounds FastAPI below the fix: a lock of the same scope
    then says nothing more."""
    scopes = index.table("deployment_scopes")
    return any(
        scopes[path] == scope and facts.kind not in LOCK_KINDS and any(is_old_fastapi(pin) for pin in facts.pins)
        for path, facts in index.deployment.items()
    )


@index_table("sync_session_dependencies")
def _sync_session_dependencies(index: ProjectIndex) -> Tuple[Dependency, ...]:
    """Plain `def` generators used in Depends() (across modules, through
    Annotated aliases) that open a sync session or connection, outside test
    code; sorted by path and line."""
    found = []
    for facts in index.modules.values():
        if is_test_module(facts.module):
            continue
        for fn in facts.functions.values():
            # A decorated generator is not one FastAPI sees (@contextmanager
            # makes it a plain function returning a context manager).
            if fn.is_async or not fn.is_generator or fn.decorators:
                continue
            if not index.is_dependency(facts.module, fn.qualname):
                continue
            resource = _opened(index, facts, fn)
            if resource is None:
                continue
            what = f"opens a {resource.kind}"
            if resource.origin and ("." in resource.origin or resource.origin_where is None):
                what += f" with {resource.origin}()"  # Session(engine), engine.connect()
            elif resource.origin:
                what += f" from {resource.origin}"  # a session factory
            found.append((facts.path, fn.line, fn.qualname, what))
    return tuple(sorted(found))


def _opened(index: ProjectIndex, facts: ModuleFacts, fn: FunctionFact) -> Optional[Resource]:
    """The sync session or connection a generator dependency opens: the one
    it yields, or one it creates to build what it yields."""
    candidates = [index.of_dependency(facts.qualify(fn.qualname))]
    for name in sorted(fn.origins):
        how, ref, _ = fn.origins[name]
        if how == "call":
            candidates.append(index.created_by_call(ref))
    for resource in candidates:
        if resource is not None and not resource.is_async and resource.kind in ("session", "connection"):
            return resource
    return None


@index_table("fastapi_endangered")
def _endangered(index: ProjectIndex, scope: str) -> Tuple[Dependency, ...]:
    """The sync yield dependencies opening sessions in the modules whose
    FastAPI requirement comes from `scope` (the deepest scope requiring FastAPI)."""
    scopes = index.table("deployment_scopes")
    requiring = {scopes[path] for path, facts in index.deployment.items() if _requires_fastapi(facts)}
    return tuple(
        dependency
        for dependency in index.table("sync_session_dependencies")
        if governing(requiring, dependency[0]) == scope
    )
