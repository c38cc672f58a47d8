"""The shipped rules' module names and codes, known without importing any rule.

Reading settings and suppression comments needs to know which codes exist,
not what the rules do; the registry (rule.all_rules) imports the modules
named here and checks that each rule's code agrees with its module's name.
"""

from __future__ import annotations

import importlib.util
import pkgutil
import re
from functools import lru_cache

_MODULE = re.compile(r"^il\d{3}_[a-z0-9_]+$")


@lru_cache(maxsize=1)
def rule_modules() -> tuple[str, ...]:
    """The rule modules of `initlint.rules` (the repository's `rules/`): `il101_zero_product`, ..."""
    spec = importlib.util.find_spec("initlint.rules")
    locations = list(spec.submodule_search_locations or ()) if spec is not None else []
    return tuple(sorted(info.name for info in pkgutil.iter_modules(locations) if _MODULE.match(info.name)))


@lru_cache(maxsize=1)
def rule_codes() -> frozenset[str]:
    """Every shipped rule's code, read from its module's name (`il101_...` -> IL101)."""
    return frozenset(name[:5].upper() for name in rule_modules())
