"""Mesa 3's core, ``mesa.Model`` and ``mesa.Agent``, without the rest of Mesa's package init.

``import mesa`` (3.3) runs ``mesa/__init__.py``, which imports ``batchrunner``,
``datacollection`` (pandas), ``space`` and ``discrete_space`` (scipy, networkx) and
``experimental``: about 0.9 s of CPU on a 2-core machine, more than a 100-round run.
The engine subclasses only :class:`mesa.Model` and :class:`mesa.Agent`, which live in
``mesa.model`` and ``mesa.agent`` and need nothing but numpy.

So, when Mesa is not imported yet, :data:`mesa` here is Mesa's own package module,
created from its import spec without running its ``__init__``; ``mesa.model`` and
``mesa.agent`` are imported into it as usual and ``Model`` / ``Agent`` bound on it (the
very classes Mesa's ``__init__`` re-exports).  The first access to any other attribute
(``mesa.DataCollector``, ``mesa.space``, ``mesa.__version__``, ``from mesa import
batch_run``, ...) runs Mesa's ``__init__`` in that same module object, so every name of
Mesa's API is there when asked for and ``mesa.Model`` stays one class.  A submodule
imported by name (``import mesa.space``) is imported as it always is.  When Mesa is
already imported, it is used as it is.
"""

from __future__ import annotations

import importlib.util
import sys
from types import ModuleType


def _core_mesa() -> ModuleType:
    loaded = sys.modules.get("mesa")
    if loaded is not None:
        return loaded
    spec = importlib.util.find_spec("mesa")
    if spec is None or spec.loader is None:
        raise ModuleNotFoundError("No module named 'mesa'", name="mesa")
    module = importlib.util.module_from_spec(spec)
    sys.modules["mesa"] = module
    try:
        from mesa.agent import Agent
        from mesa.model import Model
    except BaseException:
        for name in [m for m in sys.modules if m == "mesa" or m.startswith("mesa.")]:
            del sys.modules[name]
        raise

    def complete(name: str):
        """Run Mesa's ``__init__`` (once) and look ``name`` up in the finished module."""
        if module.__dict__.pop("__getattr__", None) is not None:
            spec.loader.exec_module(module)
        return object.__getattribute__(module, name)

    module.Agent = Agent
    module.Model = Model
    module.__getattr__ = complete
    return module


mesa = _core_mesa()
