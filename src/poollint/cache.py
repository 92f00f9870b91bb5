"""The per-file cache: facts and findings of files that did not change.

One cache file per poollint version and effective settings, under
`.poollint_cache/` at the project root (or `--cache-dir`, or
`$POOLLINT_CACHE_DIR`), like ruff's. For each file it keeps the digest of the
source, the file's facts (pass 1) and its findings with the questions its
rules asked the project index (see tracking.py). A file whose digest matches
skips pass 1; its findings are reused when every question still gets the
same answer from this run's index.

The cache is read with an unpickler that only builds poollint's own classes:
a cache directory that came from elsewhere can make poollint re-check files,
never run code.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, List, Optional, Sequence, Set, Tuple

from poollint import __version__
from poollint.diagnostic import Diagnostic

if TYPE_CHECKING:
    from poollint.tracking import QueryLog

CACHE_DIR_NAME = ".poollint_cache"
CACHE_DIR_ENV = "POOLLINT_CACHE_DIR"
# Bumped whenever what is pickled changes shape (3: facts gained password_url and slots;
# 4: facts gained session_uses; 5: FunctionFact.orm_result; 6: Depends() options and
# dependencies= lists; 7: cleanup_generators; 8: deployment files' facts; 9: findings
# carry their fixes' text edits; 10: Diagnostic.ruff_code).
_FORMAT = 10

_GITIGNORE = "# Created by poollint: the cache is local to this machine.\n*\n"
# https://bford.info/cachedir/: backup tools skip a directory holding this.
_CACHEDIR_TAG = (
    "Signature: 8a477f597d28d172789f06886806bc55\n"
    "# This file is a cache directory tag created by poollint.\n"
    "# For information about cache directory tags see https://bford.info/cachedir/\n"
)


@dataclass
class CachedFindings:
    digest: str
    diagnostics: List[Diagnostic]
    # The state of the whole project the findings were computed in: in the
    # same state they hold without asking anything. Otherwise they hold when
    # the index questions they depend on (tracking.py, kept in a file of
    # their own: a run with nothing changed never reads them) get the same answers.
    state: str


@dataclass
class Cache:
    """Three files per key: findings (small, read first), facts and queries
    (read only when some file changed and the project index must be built)."""

    directory: Path
    key: str
    findings: Dict[str, CachedFindings] = field(default_factory=dict)
    _facts: Optional[Dict[str, Tuple[str, object]]] = None
    _queries: Optional[Dict[str, Tuple[str, QueryLog]]] = None
    _changed: Set[str] = field(default_factory=set)

    def _file(self, kind: str) -> Path:
        return self.directory / __version__ / f"{self.key}.{kind}"

    @classmethod
    def open(cls, directory: Path, settings: object, rules: Sequence[object]) -> "Cache":
        cache = cls(directory, settings_key(settings, rules))
        cache.findings = _load(cache._file("findings"))
        return cache

    def facts(self, name: str, digest: str) -> Optional[object]:
        """The cached pass-1 result (engine.FactsResult) of a file with this digest."""
        if self._facts is None:
            self._facts = _load(self._file("facts"))
        found = self._facts.get(name)
        return found[1] if found is not None and found[0] == digest else None

    def store_facts(self, name: str, digest: str, facts: object) -> None:
        if self._facts is None:
            self._facts = _load(self._file("facts"))
        found = self._facts.get(name)
        if found is None or found[0] != digest:
            self._facts[name] = (digest, facts)
            self._changed.add("facts")

    def lookup(self, name: str, digest: str) -> Optional[CachedFindings]:
        entry = self.findings.get(name)
        return entry if entry is not None and entry.digest == digest else None

    def queries(self, name: str, digest: str) -> Optional[QueryLog]:
        if self._queries is None:
            self._queries = _load(self._file("queries"))
        found = self._queries.get(name)
        return found[1] if found is not None and found[0] == digest else None

    def store_findings(
        self, name: str, digest: str, diagnostics: List[Diagnostic], state: str, queries: Optional[QueryLog] = None
    ) -> None:
        self.findings[name] = CachedFindings(digest, list(diagnostics), state)
        self._changed.add("findings")
        if queries is not None:
            if self._queries is None:
                self._queries = _load(self._file("queries"))
            self._queries[name] = (digest, queries)
            self._changed.add("queries")

    def save(self) -> Optional[str]:
        """Write what changed; a warning when it cannot be written (the run still counts)."""
        try:
            for kind in sorted(self._changed):
                table = {"findings": self.findings, "facts": self._facts, "queries": self._queries}[kind]
                # Files deleted since drop out; files outside this run stay.
                kept = {name: entry for name, entry in (table or {}).items() if os.path.exists(name)}
                _prepare(self.directory)
                _write(self._file(kind), kept)
        except (OSError, pickle.PicklingError, RecursionError) as exc:
            return f"cannot write the cache in {self.directory}: {exc}"
        self._changed.clear()
        return None


def file_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def project_state(digests: Dict[str, str]) -> str:
    """A digest of every indexed file and its content."""
    return hashlib.blake2b(repr(sorted(digests.items())).encode(), digest_size=16).hexdigest()


def _write(target: Path, table: Dict[str, object]) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=str(target.parent), prefix=".tmp-", suffix=target.suffix)
    try:
        with os.fdopen(fd, "wb") as handle:
            pickle.dump((_FORMAT, table), handle, protocol=pickle.HIGHEST_PROTOCOL)
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, target)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def settings_key(settings: object, rules: Sequence[object]) -> str:
    """What findings depend on besides the files: settings, rules (classes or
    catalog entries: their codes), Python's parser."""
    text = repr((sys.version_info[:2], repr(settings), sorted(rule.CODE for rule in rules)))  # type: ignore[attr-defined]
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def cache_directory(project_root: Path, option: Optional[Path] = None, configured: Optional[Path] = None) -> Path:
    """--cache-dir, then $POOLLINT_CACHE_DIR, then `cache-dir` in the config, then
    .poollint_cache at the project root."""
    if option is not None:
        return Path(option)
    env = os.environ.get(CACHE_DIR_ENV)
    if env:
        return Path(env)
    if configured is not None:
        return configured if configured.is_absolute() else project_root / configured
    return project_root / CACHE_DIR_NAME


def clean(directory: Path) -> bool:
    """Remove a cache directory poollint made; False when there was none."""
    import shutil

    if not directory.is_dir():
        return False
    marker = directory / "CACHEDIR.TAG"
    if directory.name != CACHE_DIR_NAME and not marker.exists():
        raise OSError(f"{directory} does not look like a poollint cache (no CACHEDIR.TAG); not removing it")
    shutil.rmtree(directory)
    return True


def _prepare(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in ((".gitignore", _GITIGNORE), ("CACHEDIR.TAG", _CACHEDIR_TAG)):
        path = directory / name
        if not path.exists():
            path.write_text(text)


class _PoollintOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str):  # type: ignore[no-untyped-def]
        if module == "poollint" or module.startswith("poollint."):
            return super().find_class(module, name)
        if (module, name) in _ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"{module}.{name} is not a poollint class")


_ALLOWED = {
    ("pathlib", "PosixPath"),
    ("pathlib", "WindowsPath"),
    ("pathlib", "Path"),
    ("builtins", "set"),
    ("builtins", "frozenset"),
    ("copyreg", "_reconstructor"),
    ("builtins", "object"),
}


def _load(path: Path) -> Dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError:
        return {}
    try:
        fmt, entries = _PoollintOnly(io.BytesIO(data)).load()
    except Exception:  # a cache from another version, truncated, or not ours: start afresh
        return {}
    if fmt != _FORMAT or not isinstance(entries, dict):
        return {}
    return entries


__all__ = ["CACHE_DIR_ENV", "CACHE_DIR_NAME", "Cache", "CachedFindings", "cache_directory", "clean", "project_state", "settings_key"]

