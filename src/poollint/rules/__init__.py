"""The rule registry: every PoolRule subclass in the family packages below."""

from __future__ import annotations

import importlib
import pkgutil
from typing import Dict, List, Type

from poollint.rule import PoolRule

FAMILIES = ("event_loop", "leaks", "pool_config", "async_sqlalchemy", "security", "meta")


def _discover() -> List[Type[PoolRule]]:
    found: Dict[str, Type[PoolRule]] = {}
    for family in FAMILIES:
        try:
            package = importlib.import_module(f"{__name__}.{family}")
        except ModuleNotFoundError:
            continue
        for info in pkgutil.iter_modules(package.__path__):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for value in vars(module).values():
                if (
                    isinstance(value, type)
                    and issubclass(value, PoolRule)
                    and value is not PoolRule
                    and value.__module__ == module.__name__
                ):
                    if value.CODE in found:
                        raise RuntimeError(f"rule code {value.CODE} is defined twice")
                    found[value.CODE] = value
    return [found[code] for code in sorted(found)]


ALL_RULES: List[Type[PoolRule]] = _discover()
RULES_BY_CODE: Dict[str, Type[PoolRule]] = {rule.CODE: rule for rule in ALL_RULES}
