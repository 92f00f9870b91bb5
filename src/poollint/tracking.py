"""What one file's findings depend on in the project index, for the cache.

A file's findings are a function of its own source, the settings, and the
answers the project index gave its rules (is this a dependency? which routes
use this engine? what does this name resolve to?). `TrackedIndex` stands in
for the index while one file is checked and logs each question with a
fingerprint of its answer. On a later run the cached findings still hold if
every logged question, asked again of the new index, gets the same answer:
a change in one module re-checks only the files that asked about it.

Questions are logged with their arguments; facts objects among them are kept
as references (module, qualname), looked up again in the new index.
"""

from __future__ import annotations

import dataclasses
import hashlib
import pickle
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from poollint.facts import FunctionFact, ModuleFacts
from poollint.project import ProjectIndex

# The index methods rules ask questions through. Anything else rules would
# reach (attributes, private tables) is not on the tracked index at all, so
# a question that escapes the log fails loudly instead of caching wrongly.
QUERY_METHODS = (
    "async_users_of_engine",
    "created_by_call",
    "dependency_function",
    "dependency_names",
    "describe",
    "engine",
    "factory",
    "function",
    "is_dependency",
    "kind",
    "module",
    "of_annotation",
    "of_dependency",
    "of_global",
    "of_local",
    "request_path",
    "resolve",
    "route",
    "runs_per_request",
    "session_maker_names",
    "sync_route_users_of_engine",
    "table",
    "triggers_of",
    "users_of_engine",
)

# (method, arguments as references) -> fingerprint of the answer.
Query = Tuple[str, Tuple[Any, ...]]
QueryLog = List[Tuple[Query, str]]

_ALL_MODULES = "<modules>"


@dataclasses.dataclass(frozen=True)
class FunctionRef:
    module: str
    qualname: str


@dataclasses.dataclass(frozen=True)
class ModuleRef:
    module: str


class _Missing(Exception):
    """A reference no longer resolves: the answer cannot be the same."""


class TrackedIndex:
    """The project index as one file's rules see it, logging every question."""

    def __init__(self, index: ProjectIndex) -> None:
        self.raw = index
        self._asked: Dict[Tuple[Any, ...], Tuple[Query, Any]] = {}
        self.modules = _TrackedModules(self)
        for name in QUERY_METHODS:
            setattr(self, name, self._tracked(name))

    def _tracked(self, name: str) -> Callable[..., Any]:
        method = getattr(self.raw, name)
        asked = self._asked
        to_ref = self._to_ref

        def ask(*args: Any) -> Any:
            answer = method(*args)
            key = (name,) + tuple(arg if isinstance(arg, (str, int, type(None))) else id(arg) for arg in args)
            if key not in asked:
                asked[key] = ((name, tuple(to_ref(arg) for arg in args)), answer)
            return answer

        ask.__name__ = name
        return ask

    def _to_ref(self, value: Any) -> Any:
        if isinstance(value, FunctionFact):
            module = self.raw.module_of_function(value)
            return FunctionRef(module, value.qualname) if module is not None else value
        if isinstance(value, ModuleFacts):
            return ModuleRef(value.module)
        return value

    def _note_module(self, name: str, answer: Any) -> None:
        key = ("<module>", name)
        if key not in self._asked:
            self._asked[key] = (("<module>", (name,)), answer)

    def _note_all_modules(self) -> None:
        key = (_ALL_MODULES,)
        if key not in self._asked:
            self._asked[key] = ((_ALL_MODULES, ()), None)

    def with_module(self, facts: ModuleFacts) -> "TrackedIndex":
        # Only --fix rounds replace a module; their findings are not cached.
        return TrackedIndex(self.raw.with_module(facts))

    def log(self, fingerprints: Dict[Tuple[Any, ...], str]) -> QueryLog:
        """The questions asked, each with its answer's fingerprint (memoized in
        `fingerprints`, shared by the files checked against one index)."""
        found: QueryLog = []
        for key, (query, answer) in self._asked.items():
            print_ = fingerprints.get(key)
            if print_ is None:
                print_ = _answer_print(self.raw, query, answer)
                if all(isinstance(a, (str, int, type(None))) for a in query[1]):
                    fingerprints[key] = print_
            found.append((query, print_))
        return found


class _TrackedModules:
    """`index.modules`, read-only, logging which modules were looked at."""

    def __init__(self, tracked: TrackedIndex) -> None:
        self._tracked = tracked
        self._modules = tracked.raw.modules

    def __getitem__(self, name: str) -> ModuleFacts:
        facts = self._modules[name]
        self._tracked._note_module(name, facts)
        return facts

    def get(self, name: str, default: Any = None) -> Any:
        facts = self._modules.get(name)
        self._tracked._note_module(name, facts)
        return facts if facts is not None else default

    def __contains__(self, name: object) -> bool:
        found = name in self._modules
        self._tracked._note_module(str(name), self._modules.get(str(name)))
        return found

    def __iter__(self) -> Iterator[str]:
        self._tracked._note_all_modules()
        return iter(self._modules)

    def __len__(self) -> int:
        self._tracked._note_all_modules()
        return len(self._modules)

    def values(self):  # type: ignore[no-untyped-def]
        self._tracked._note_all_modules()
        return self._modules.values()

    def items(self):  # type: ignore[no-untyped-def]
        self._tracked._note_all_modules()
        return self._modules.items()

    def keys(self):  # type: ignore[no-untyped-def]
        self._tracked._note_all_modules()
        return self._modules.keys()


# -- fingerprints -------------------------------------------------------------
def _answer_print(index: ProjectIndex, query: Query, answer: Any) -> str:
    if query[0] == _ALL_MODULES:
        return index.fingerprint()
    return fingerprint(answer)


def fingerprint(value: Any) -> str:
    """A digest of `value` that two runs compute alike (sets in sorted order;
    a module's facts by their module, path and source digest)."""
    return hashlib.blake2b(repr(_canonical(value)).encode(), digest_size=16).hexdigest()


def _canonical(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool, bytes)):
        return value
    if isinstance(value, ModuleFacts):
        return ("M", value.module, value.path, value.digest)
    if isinstance(value, (list, tuple)):
        return tuple(_canonical(item) for item in value)
    if isinstance(value, (set, frozenset)):
        return ("S",) + tuple(sorted((_canonical(item) for item in value), key=repr))
    if isinstance(value, dict):
        return ("D",) + tuple(sorted(((_canonical(k), _canonical(v)) for k, v in value.items()), key=repr))
    if isinstance(value, type):
        return ("T", value.__module__, value.__qualname__)
    if dataclasses.is_dataclass(value):
        return (type(value).__name__,) + tuple(
            _canonical(getattr(value, f.name)) for f in dataclasses.fields(value)
        )
    return (type(value).__name__, repr(value))


# -- asking again ---------------------------------------------------------------
class QueryChecker:
    """Asks logged questions of a new index, each distinct question once."""

    def __init__(self, index: ProjectIndex) -> None:
        self.index = index
        self._answers: Dict[bytes, Optional[str]] = {}

    def still_holds(self, log: Sequence[Tuple[Query, str]]) -> bool:
        for query, expected in log:
            if self._print(query) != expected:
                return False
        return True

    def _print(self, query: Query) -> Optional[str]:
        try:
            key = pickle.dumps(query, protocol=pickle.HIGHEST_PROTOCOL)
        except Exception:
            return None
        if key in self._answers:
            return self._answers[key]
        try:
            print_ = self._ask(query)
        except _Missing:
            print_ = None
        except Exception:  # a question the new index cannot answer: re-check
            print_ = None
        self._answers[key] = print_
        return print_

    def _ask(self, query: Query) -> str:
        name, refs = query
        index = self.index
        if name == _ALL_MODULES:
            return index.fingerprint()
        if name == "<module>":
            return fingerprint(index.modules.get(refs[0]))
        if name not in QUERY_METHODS:
            raise _Missing(name)
        args = [self._resolve(ref) for ref in refs]
        return fingerprint(getattr(index, name)(*args))

    def _resolve(self, ref: Any) -> Any:
        if isinstance(ref, FunctionRef):
            facts = self.index.modules.get(ref.module)
            fn = facts.functions.get(ref.qualname) if facts is not None else None
            if fn is None:
                raise _Missing(ref)
            return fn
        if isinstance(ref, ModuleRef):
            facts = self.index.modules.get(ref.module)
            if facts is None:
                raise _Missing(ref)
            return facts
        return ref
