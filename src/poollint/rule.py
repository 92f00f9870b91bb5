"""The rule base class and the data a rule reports (Diagnostic, Fix)."""

from __future__ import annotations

import enum
import inspect
import textwrap
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable, ClassVar, Dict, FrozenSet, Iterable, List, Mapping, Optional, Sequence, Tuple

import libcst as cst

from poollint.diagnostic import FixSafety

if TYPE_CHECKING:
    from poollint.context import FileContext
    from poollint.deployment import DeploymentContext
    from poollint.gate import SourceView
    from poollint.project import ProjectIndex


class FixAvailability(enum.Enum):
    NONE = "none"
    SOMETIMES = "sometimes"
    ALWAYS = "always"


class RuleScope(enum.Enum):
    """What a rule's findings in a file depend on besides the settings."""

    # That file alone: checked with an index of nothing but the file, it
    # reports what it reports in the whole project. The flake8 plugin, which
    # is handed one file at a time, reads no other file when only these
    # rules are left to run on it.
    FILE = "file"
    # Other files too: names defined in other modules (a session factory, a
    # helper that blocks, a router), which functions are routes or
    # dependencies anywhere in the project, deployment files.
    PROJECT = "project"


# (module, name): ("asyncio", None) asks for `import asyncio`,
# ("contextlib", "closing") for `from contextlib import closing`.
ImportRequest = Tuple[str, Optional[str]]


@dataclass(frozen=True)
class Fix:
    """Replace one node of the tree by another, plus the imports that needs."""

    node: cst.CSTNode
    replacement: cst.CSTNode
    safety: FixSafety
    imports: Tuple[ImportRequest, ...] = ()


@dataclass(frozen=True)
class LineOf:
    """A message argument naming the (1-based) line of another node.

    Positions are resolved only after the walk, for files with findings, so
    the engine fills these in when it turns a report into a Diagnostic.
    """

    node: cst.CSTNode


@dataclass(frozen=True)
class Valid:
    """Look-alike code the rule must not flag.

    `files` are other files of the example's project, by path (a
    requirements.txt, a Dockerfile): for rules that read deployment files.
    """

    code: str
    files: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", _dedent(self.code))
        object.__setattr__(self, "files", {name: _dedent(text) for name, text in self.files.items()})


@dataclass(frozen=True)
class Invalid:
    """Code the rule must flag (in it or in one of `files`, as for Valid);
    `expected_replacement` is the source after its fix."""

    code: str
    expected_replacement: Optional[str] = None
    unsafe_fixes: bool = False
    files: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "code", _dedent(self.code))
        if self.expected_replacement is not None:
            object.__setattr__(self, "expected_replacement", _dedent(self.expected_replacement))
        object.__setattr__(self, "files", {name: _dedent(text) for name, text in self.files.items()})


def _dedent(code: str) -> str:
    return textwrap.dedent(code).lstrip("\n")


class PoolRule(cst.BatchableCSTVisitor):
    """Base of every rule: one class per rule, carrying its own metadata.

    Subclasses implement `visit_*`/`leave_*` methods as libcst visitors do. The
    engine runs all selected rules of a file in one walk of one tree and hands
    each rule a FileContext (`self.ctx`) with the scope stack, the module's
    import aliases and the project index.
    """

    CODE: ClassVar[str]
    NAME: ClassVar[str]
    # A template formatted with the keyword arguments given to `report`.
    MESSAGE: ClassVar[str]
    FIX_TITLE: ClassVar[Optional[str]] = None
    FIX_AVAILABILITY: ClassVar[FixAvailability] = FixAvailability.NONE
    SINCE: ClassVar[str] = "0.1.0"
    # Opt-in rules run only when selected explicitly.
    DEFAULT_ENABLED: ClassVar[bool] = True
    # Substrings of which at least one must occur in a file for the rule to
    # possibly fire; a file holding none of any selected rule's triggers is
    # never parsed by libcst. A rule without triggers never fires.
    TRIGGERS: ClassVar[Tuple[str, ...]] = ()
    # The configuration that changes what the rule reports or fixes, as
    # (option, what it does) pairs, for the generated docs/rules.md.
    OPTIONS: ClassVar[Sequence[Tuple[str, str]]] = ()
    # The nearest rules of ruff and of flake8-async (their codes; empty: they
    # have none) and, in a sentence, what each covers that the other does not:
    # the table in docs/ruff.md is generated from these.
    RUFF_EQUIVALENT: ClassVar[Tuple[str, ...]] = ()
    FLAKE8_ASYNC_EQUIVALENT: ClassVar[Tuple[str, ...]] = ()
    RUFF_NOTE: ClassVar[str] = ""
    # PoolSettings fields (`{"max_connections": 100}`) the rule's examples and
    # docstring blocks run with, for a rule that says nothing unconfigured.
    EXAMPLE_POOL_SETTINGS: ClassVar[Mapping[str, object]] = {}
    # Codes of other rules the examples and docstring blocks run with, for a
    # rule about what others report (POL905 judges their noqa comments).
    EXAMPLE_RULES: ClassVar[Tuple[str, ...]] = ()
    VALID: ClassVar[Sequence[Valid]] = ()
    INVALID: ClassVar[Sequence[Invalid]] = ()
    # Whether the rule needs the project's deployment files (deployment.py) in
    # the index: `check` lists them only when such a rule is selected
    # (deployment.DEPLOYMENT_RULES names these rules for the CLI).
    READS_DEPLOYMENT_FILES: ClassVar[bool] = False
    # Kinds of deployment file the rule reports in ("requirements",
    # "pyproject"...): for those files the engine calls check_deployment()
    # instead of walking a tree.
    DEPLOYMENT_KINDS: ClassVar[FrozenSet[str]] = frozenset()
    # FILE only where no finding can depend on another file, however the
    # project looks: not when the rule resolves a name imported from the
    # project, asks whether a function is a route or a dependency, or reads
    # deployment files. PROJECT by default, so that the flake8 plugin reads
    # the project for a new rule until someone has checked;
    # tests/test_rule_scope.py holds FILE rules to it on every fixture project.
    SCOPE: ClassVar[RuleScope] = RuleScope.PROJECT

    @classmethod
    def may_fire(cls, view: "SourceView", index: "ProjectIndex") -> bool:
        """After the triggers, a sharper look at the unparsed file (gate.py):
        False only when the rule certainly has nothing to report in it."""
        return True

    @classmethod
    def check_deployment(cls, ctx: "DeploymentContext") -> None:
        """Report in a deployment file of one of DEPLOYMENT_KINDS (ctx.facts)."""

    @classmethod
    def triggers(cls, index: "ProjectIndex") -> Iterable[str]:
        """TRIGGERS, plus names only the project knows (its session factories, say).

        A name defined in one module shows up in the text of every module that
        uses it (in its import, or at the call), so it can gate parsing too.
        """
        return cls.TRIGGERS

    def __init__(self, ctx: "FileContext") -> None:
        super().__init__()
        self.ctx = ctx
        # Rules whose walk this one does for them (engine._dispatch_tables,
        # SHARES_WALK_OF), when it leads a group of rules on one base.
        self.walk_followers: List["PoolRule"] = []

    @classmethod
    def docs(cls) -> str:
        return inspect.cleandoc(cls.__doc__ or "")

    @classmethod
    def summary(cls) -> str:
        """The first sentence of `## What it does`."""
        text = cls.docs()
        marker = "## What it does"
        if marker in text:
            text = text.split(marker, 1)[1]
        body = text.strip().split("\n\n", 1)[0]
        return " ".join(body.split())

    def report(
        self,
        node: cst.CSTNode,
        fix: Optional[Fix] = None,
        **message_args: object,
    ) -> None:
        lines = {key: value for key, value in message_args.items() if isinstance(value, LineOf)}
        if not lines:
            self.ctx.report(self, node, self.MESSAGE.format(**message_args), fix)
            return
        template = self.MESSAGE

        def render(line_of: Callable[[cst.CSTNode], int]) -> str:
            resolved: Dict[str, object] = {key: line_of(value.node) for key, value in lines.items()}
            return template.format(**{**message_args, **resolved})

        self.ctx.report(self, node, render, fix)
