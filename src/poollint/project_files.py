"""The facts of a project's files on disk, for checking one file whose text may differ.

The language server (editor.py) and the flake8 plugin (flake8_plugin.py) are
handed one file at a time, as text that need not be what is on disk (an
unsaved document, flake8's stdin). Both check it as `poollint check` would
check the project with that text saved: against the project index of the
files on disk, with the file's own facts in place of its file's. This module
keeps those facts per project: it finds the files as `poollint check PATHS`
indexes them (discovery.py, deployment files included when a selected rule
reads them), reads their pass-1 facts (through the cache when given one,
as runner.read_all_facts does), and builds the index of the files on disk
once, for every file whose text is what its file holds.

A file that cannot be read, or does not parse, has no facts: the index is
built without it, as in `poollint check`, where that file reports its own
POL9xx finding.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Dict, Optional, Sequence, Tuple, Type

from poollint.cache import Cache, file_digest
from poollint.config import Settings
from poollint.deployment import reads_deployment_files
from poollint.discovery import DiscoveryError, discover_files

if TYPE_CHECKING:
    from poollint.engine import FactsResult
    from poollint.project import ProjectIndex
    from poollint.rule import PoolRule

__all__ = ["ProjectFiles", "content_digest"]

Stamp = Optional[Tuple[int, int]]


def _key(path: Path) -> str:
    return os.path.normcase(os.path.abspath(path))


def _stamp(path: Path) -> Stamp:
    try:
        info = os.stat(path)
    except OSError:
        return None
    return info.st_mtime_ns, info.st_size


def content_digest(data: bytes) -> str:
    """A digest of what Python reads in `data`: line endings (\\r\\n, \\r)
    count as \\n and a UTF-8 byte order mark as nothing, so that a file and
    the text an editor or flake8 read from it (flake8 reads with universal
    newlines, and drops the mark) have the same digest. Neither changes a
    fact: positions are lines and columns, and the tokenizer reads them so."""
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]
    if b"\r" in data:
        data = data.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
    return file_digest(data)


class ProjectFiles:
    """The facts of one project's files on disk, between checks.

    `paths` are what `poollint check` would be given: the project is every
    file discovery finds under them (the project root, when a configuration
    file makes one). None: the project holds no file of its own, and a file
    is checked with only itself in the index (as `poollint check FILE` does
    without a configuration file).
    """

    def __init__(
        self,
        settings: Settings,
        rules: Sequence[Type["PoolRule"]],
        paths: Optional[Sequence[Path]],
        cache: Optional[Cache] = None,
    ) -> None:
        self.settings = settings
        self.rules = list(rules)
        self.paths = None if paths is None else [Path(path) for path in paths]
        self.deployment = reads_deployment_files(self.rules)
        self.cache = cache
        self.facts: Dict[str, "FactsResult"] = {}
        self._stamps: Dict[str, Stamp] = {}
        self._contents: Dict[str, str] = {}
        # The index of the files as they are on disk; its project-wide tables
        # are computed once, for every file whose text matches its file.
        self._disk_index: Optional["ProjectIndex"] = None
        # Keys by real path, made on the first file not found by its own path
        # (reached through a symlink, or named relative to another directory).
        self._real_keys: Optional[Dict[str, str]] = None

    @property
    def root(self) -> Path:
        return self.settings.project_root

    @property
    def whole(self) -> bool:
        return self.paths is not None

    def refresh(self) -> None:
        """Find the project's files again; read the facts of those that changed."""
        if self.paths is None:
            return
        try:
            files = discover_files(self.paths, self.settings, deployment=self.deployment)
        except DiscoveryError:
            files = []
        stamps = {_key(path): _stamp(path) for path in files}
        changed = [
            path
            for path in files
            if _key(path) not in self.facts or stamps[_key(path)] is None or stamps[_key(path)] != self._stamps.get(_key(path))
        ]
        read = self._read(changed)
        facts: Dict[str, "FactsResult"] = {}
        contents: Dict[str, str] = {}
        for path in files:
            key = _key(path)
            if key in read:
                facts[key], contents[key] = read[key]
            else:
                facts[key], contents[key] = self.facts[key], self._contents.get(key, "")
        unchanged = list(facts) == list(self.facts) and all(facts[key] is self.facts[key] for key in facts)
        if not unchanged:
            self._disk_index = None
            self._real_keys = None
        self.facts, self._stamps, self._contents = facts, stamps, contents
        if self.cache is not None:
            # A cache that cannot be written costs the next run its time, not this one its findings.
            self.cache.save()

    def _read(self, paths: Sequence[Path]) -> Dict[str, Tuple["FactsResult", str]]:
        """Pass 1 over `paths`: each file's facts and content digest ("" when unreadable)."""
        from poollint.engine import read_facts
        from poollint.facts import release_shared
        from poollint.runner import read_all_facts

        data: Dict[str, Optional[bytes]] = {}
        for path in paths:
            try:
                data[_key(path)] = path.read_bytes()
            except OSError:
                data[_key(path)] = None
        contents = {key: content_digest(raw) if raw is not None else "" for key, raw in data.items()}
        if self.cache is not None:
            digests = {key: file_digest(raw) if raw is not None else "" for key, raw in data.items()}
            found = read_all_facts(paths, self.settings, jobs=1, cache=self.cache, digests=digests)
        else:
            found = {}
            for path in paths:
                raw = data[_key(path)]
                # Read again when it could not be: read_facts words the error.
                found[_key(path)] = read_facts(path, self.root, raw)
        release_shared()
        return {key: (result, contents[key]) for key, result in found.items()}

    def _find(self, path: Path) -> Optional[str]:
        """The key under which the project holds the file at `path`, if it does."""
        key = _key(path)
        if key in self.facts:
            return key
        if self._real_keys is None:
            self._real_keys = {os.path.normcase(os.path.realpath(known)): known for known in self.facts}
        return self._real_keys.get(os.path.normcase(os.path.realpath(path)))

    def disk_facts(self, path: Path, source: bytes) -> Optional["FactsResult"]:
        """The facts read from the file at `path` when `source` is what it
        holds (up to line endings and a byte order mark); None otherwise."""
        key = self._find(path)
        if key is None or not self._contents.get(key) or self._contents[key] != content_digest(source):
            return None
        return self.facts[key]

    def disk_index(self) -> "ProjectIndex":
        """The index of the project's files as they are on disk."""
        if self._disk_index is None:
            from poollint.engine import build_index

            self._disk_index = build_index(self.facts.values())
        return self._disk_index

    def index_with(self, path: Path, facts: "FactsResult", source: Optional[bytes] = None) -> "ProjectIndex":
        """The project's index with `facts` (read from `source`, when given)
        standing for the file at `path`."""
        from poollint.engine import build_index

        key = self._find(path)
        on_disk = self.facts.get(key) if key is not None else None
        if on_disk is not None:
            if on_disk.digest and on_disk.digest == facts.digest:
                return self.disk_index()
            if source is not None and self.disk_facts(path, source) is not None:
                return self.disk_index()
        merged = dict(self.facts)
        merged[key if key is not None else _key(path)] = facts
        return build_index(merged.values())

