"""Paper sections: one module each, found by name.

A section module in this package defines

* ``KEY`` (str): the name ``derelay paper --only`` takes (usually the module name);
* ``TITLE`` (str): the section heading;
* ``ORDER`` (number): position in the report (DeRelayL's sections use 10-120; the
  related mechanisms 200+);
* ``run(ctx: paper.core.Context) -> paper.core.Section``.

Adding a section is adding a module: nothing else is registered by hand.  Modules whose
name starts with ``_`` are skipped.  See docs/ENGINE.md section 5.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from types import ModuleType


@dataclass(frozen=True)
class SectionSpec:
    key: str
    title: str
    order: float
    module: ModuleType

    def run(self, ctx):
        return self.module.run(ctx)


def discover() -> list[SectionSpec]:
    """Every section module of this package, in report order."""
    found = []
    for info in pkgutil.iter_modules(__path__):
        if info.name.startswith("_"):
            continue
        mod = importlib.import_module(f"{__name__}.{info.name}")
        for attr in ("KEY", "TITLE", "ORDER", "run"):
            if not hasattr(mod, attr):
                raise TypeError(f"paper section module {mod.__name__} has no {attr}")
        found.append(SectionSpec(mod.KEY, mod.TITLE, float(mod.ORDER), mod))
    found.sort(key=lambda s: (s.order, s.key))
    keys = [s.key for s in found]
    dup = sorted({k for k in keys if keys.count(k) > 1})
    if dup:
        raise TypeError(f"paper sections share a KEY: {dup}")
    return found
