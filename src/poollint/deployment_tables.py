"""What the deployment files (deployment.py) say about the code, as project-index tables.

Each answer is a project-index table (project.index_table): computed once per
index, and asked through `index.table(...)`, so the cache (tracking.py) logs
it like any other question. A changed Dockerfile changes the answer of
`deployment_workers` for the modules under it, and re-checks those only.

Which code a deployment file speaks for: its *scope*, the nearest directory
from its own upwards that holds Python modules of the project (at any depth;
gunicorn's config file does not count). `requirements/base.txt` and
`docker/Dockerfile` speak for the directory above; `services/orders/
requirements.txt` for services/orders/ when the orders service's code lies
under it. A module follows the deepest scope that says anything about the
question asked (a worker count, a FastAPI requirement): in a monorepo, a
service's own files win over the ones at the root.
"""

from __future__ import annotations

from typing import Dict, Iterable, Optional, Tuple

from poollint.deployment import DEPENDENCY_KINDS, is_gunicorn_config
from poollint.project import ProjectIndex, index_table
from poollint.versions import admits_only_between

# (count, how it is written, path, line) of a worker count.
WorkersSource = Tuple[int, str, str, int]


def _parent(directory: str) -> str:
    return directory.rsplit("/", 1)[0] if "/" in directory else ""


def _under(path: str, scope: str) -> bool:
    return scope == "" or path.startswith(scope + "/")


def governing(scopes: Iterable[str], path: str) -> Optional[str]:
    """The deepest of `scopes` holding `path`."""
    best: Optional[str] = None
    for scope in scopes:
        if _under(path, scope) and (best is None or len(scope) > len(best)):
            best = scope
    return best


@index_table("deployment_scopes")
def _scopes(index: ProjectIndex) -> Dict[str, str]:
    """Deployment file path -> the directory it speaks for."""
    covered = {""}
    for facts in index.modules.values():
        if is_gunicorn_config(facts.path):
            continue
        directory = _parent(facts.path)
        while directory not in covered:
            covered.add(directory)
            directory = _parent(directory)
    found = {}
    for path in index.deployment:
        directory = _parent(path)
        while directory not in covered:
            directory = _parent(directory)
        found[path] = directory
    return found


@index_table("deployment_scope")
def _scope(index: ProjectIndex, path: str) -> str:
    return index.table("deployment_scopes").get(path, "")


@index_table("deployment_workers")
def _workers(index: ProjectIndex, module_path: str) -> Optional[WorkersSource]:
    """The worker processes the deployment files give for a module: the
    smallest count of the files of its governing scope (a Dockerfile saying 4
    and a Procfile saying 2 describe two deployments; 2 holds for both).
    None when none says, or one of them starts the server with a count
    poollint cannot read (it may be one)."""
    scopes = index.table("deployment_scopes")
    sources = [(scopes[path], facts) for path, facts in index.deployment.items() if facts.workers]
    chosen = governing({scope for scope, _ in sources}, module_path)
    if chosen is None:
        return None
    given = [
        (workers.count, facts.path, workers.line, workers.command)
        for scope, facts in sources
        if scope == chosen
        for workers in facts.workers
    ]
    if any(count is None for count, _, _, _ in given):
        return None
    count, path, line, command = min(given)  # type: ignore[type-var]
    return count, command, path, line


# FastAPI 0.106.0 to 0.117.x ran the exit code of yield dependencies before
# sending the response, a streamed one included; 0.118.0 went back to after.
FASTAPI_EXIT_BEFORE_RESPONSE = ("0.106", "0.118")


@index_table("fastapi_exits_before_response")
def _exits_before_response(index: ProjectIndex, module_path: str) -> bool:
    """Whether the FastAPI a module runs on closes yield dependencies before
    the response is sent: a requirement or lock of its governing scope admits
    only 0.106 to 0.117. Files that disagree are taken at the narrower word,
    the one a lock or pin gives for what is installed."""
    scopes = index.table("deployment_scopes")
    pins = [
        (scopes[path], pin)
        for path, facts in index.deployment.items()
        if facts.kind in DEPENDENCY_KINDS
        for pin in facts.pins
        if pin.package == "fastapi" and not pin.conditional and not pin.unknown
    ]
    chosen = governing({scope for scope, _ in pins}, module_path)
    low, high = FASTAPI_EXIT_BEFORE_RESPONSE
    return chosen is not None and any(
        admits_only_between(pin.spec, low, high, pin.style) is True for scope, pin in pins if scope == chosen
    )
