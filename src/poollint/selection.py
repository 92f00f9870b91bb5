"""Which rules run: select / extend-select / ignore with ruff's specificity, and per-file ignores."""

from __future__ import annotations

from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Tuple, Type

from poollint.config import path_matches_glob

if TYPE_CHECKING:
    from poollint.config import Settings
    from poollint.rule import PoolRule

__all__ = [
    "SelectionError",
    "code_matches",
    "ignored_codes_for_file",
    "select_rules",
    "select_rules_for_settings",
    "validate_selectors",
    "validate_settings",
]

ALL = "ALL"


class SelectionError(Exception):
    """An unknown rule code or prefix; str() is one line naming where it was given."""


def _selector_matches(selector: str, code: str) -> bool:
    return selector == ALL or (bool(selector) and code.startswith(selector))


def _specificity(selector: str) -> int:
    # "ALL" is the least specific selector; among prefixes, longer is more specific.
    return 0 if selector == ALL else len(selector)


def code_matches(code: str, selectors: Iterable[str]) -> bool:
    """Whether `code` equals or starts with any selector; "ALL" matches every code."""
    return any(_selector_matches(selector, code) for selector in selectors)


def validate_selectors(selectors: Iterable[str], all_rules: Iterable[Type["PoolRule"]], where: str) -> None:
    """Raise SelectionError for a selector that is neither "ALL" nor a prefix of some rule's code."""
    rules = list(all_rules)
    codes = [rule.CODE for rule in rules]
    for selector in selectors:
        if selector == ALL or (selector and any(code.startswith(selector) for code in codes)):
            continue
        message = f"unknown rule code or prefix {selector!r} in {where}"
        hint = _hint(selector, rules)
        if hint:
            message += f" (did you mean {hint!r}?)"
        raise SelectionError(message)


def _hint(selector: str, rules: Sequence[Type["PoolRule"]]) -> Optional[str]:
    code = _codes_by_name(rules).get(selector)
    if code is not None:
        return code
    upper = selector.upper()
    if upper != selector and (upper == ALL or any(rule.CODE.startswith(upper) for rule in rules)):
        return upper
    return None


def _codes_by_name(rules: Sequence[Type["PoolRule"]]) -> Dict[str, str]:
    names = {getattr(rule, "NAME", None): rule.CODE for rule in rules}
    if None in names:
        # Catalog entries (catalog.py) carry no names, so that choosing rules
        # imports none; a selector that names no rule is worth the import.
        from poollint.rules import RULES_BY_CODE

        names = {RULES_BY_CODE[rule.CODE].NAME: rule.CODE for rule in rules if rule.CODE in RULES_BY_CODE}
    return names  # type: ignore[return-value]


def select_rules(
    all_rules: Iterable[Type["PoolRule"]],
    select: Optional[Sequence[str]],
    ignore: Sequence[str],
    extend_select: Sequence[str],
) -> List[Type["PoolRule"]]:
    """The rules to run, sorted by code.

    `select=None` means the rules enabled by default. A user selector (in select
    or extend_select, "ALL" included) also enables the opt-in rules it matches.
    For each rule the most specific matching selector decides between enabling
    (select, extend_select) and ignoring; on a tie, ignore wins.
    """
    rules = list(dict.fromkeys(all_rules))
    validate_selectors(select or (), rules, "select")
    validate_selectors(ignore, rules, "ignore")
    validate_selectors(extend_select, rules, "extend-select")

    enabling = list(select or ()) + list(extend_select)
    chosen = []
    for rule in rules:
        enable = _best(rule.CODE, enabling)
        if select is None and rule.DEFAULT_ENABLED and enable is None:
            # Any matching ignore, even "ALL", outranks the implicit default set.
            enable = -1
        if enable is None:
            continue
        disable = _best(rule.CODE, ignore)
        if disable is not None and disable >= enable:
            continue
        chosen.append(rule)
    return sorted(chosen, key=lambda rule: rule.CODE)


def _best(code: str, selectors: Iterable[str]) -> Optional[int]:
    scores = [_specificity(s) for s in selectors if _selector_matches(s, code)]
    return max(scores) if scores else None


def validate_settings(settings: "Settings", all_rules: Iterable[Type["PoolRule"]]) -> None:
    """Check every selector of `settings`, naming the flag or config key it came from."""
    rules = list(all_rules)
    for _option, where, selectors in settings.selector_sources:
        validate_selectors(selectors, rules, where)
    # Settings built by hand carry no sources; fall back to the field names.
    validate_selectors(settings.select or (), rules, "select")
    validate_selectors(settings.ignore, rules, "ignore")
    validate_selectors(settings.extend_select, rules, "extend-select")
    for glob, codes in settings.per_file_ignores:
        validate_selectors(codes, rules, f"per-file-ignores {glob!r}")


def select_rules_for_settings(
    all_rules: Iterable[Type["PoolRule"]], settings: "Settings"
) -> List[Type["PoolRule"]]:
    """validate_settings, then select_rules with the settings' selectors."""
    rules = list(all_rules)
    validate_settings(settings, rules)
    return select_rules(rules, settings.select, settings.ignore, settings.extend_select)


def ignored_codes_for_file(
    relpath: str, per_file_ignores: Iterable[Tuple[str, Sequence[str]]]
) -> Tuple[str, ...]:
    """The codes and prefixes ignored in the file at `relpath` (posix, relative to the project root).

    A glob without "/" also matches the basename; "**/" matches zero or more
    directories ("tests/**/*.py" matches "tests/b.py"); a leading "./" is
    ignored, and a trailing "/" means every file below that directory. The
    result is the union over every matching glob.
    """
    codes: List[str] = []
    for glob, glob_codes in per_file_ignores:
        if glob.endswith("/"):
            # "tests/" names a directory; mean every file below it.
            glob += "**"
        if path_matches_glob(glob, relpath):
            codes.extend(glob_codes)
    return tuple(dict.fromkeys(codes))
