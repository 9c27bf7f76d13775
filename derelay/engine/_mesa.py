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

One more cost is Mesa's: ``mesa.model`` names its logger with
``mesa.mesa_logging.create_module_logger()``, which calls ``inspect.stack()`` - reading
and tokenising the source file of every frame on the stack, about 0.1 s under a CLI
command's import chain - only to learn the caller's module name.  While ``mesa.model`` is
imported here, ``mesa_logging`` sees an ``inspect`` whose ``stack()`` gives the same frames
without reading their source, and whose ``getmodule(frame)`` takes the frame's module by
name (inspect's first call maps every loaded module's file: another 50 ms with pandas
loaded); the logger is the same (``MESA.mesa.model``; likewise ``method_logger``'s
``inspect.getouterframes``, which only wants the class name).  ``mesa_logging`` gets the
real ``inspect`` back right after.
"""

from __future__ import annotations

import importlib.util
import inspect
import sys
from types import ModuleType


def _frames(frame) -> list[tuple]:
    """``inspect.stack()``'s records (frame, file, line, function, no context) without
    reading any source file."""
    out = []
    while frame is not None:
        code = frame.f_code
        out.append((frame, code.co_filename, frame.f_lineno, code.co_name, None, None))
        frame = frame.f_back
    return out


class _FramesWithoutSource:
    """:mod:`inspect` whose ``stack()`` and ``getouterframes()`` read no source lines and
    whose ``getmodule(frame)`` is the frame's module by name (everything else: inspect's)."""

    def __getattr__(self, name: str):
        return getattr(inspect, name)

    @staticmethod
    def stack(context: int = 1) -> list[tuple]:
        return _frames(sys._getframe(1))

    @staticmethod
    def getouterframes(frame, context: int = 1) -> list[tuple]:
        return _frames(frame)

    @staticmethod
    def getmodule(obj, _filename=None):
        if inspect.isframe(obj):
            module = sys.modules.get(obj.f_globals.get("__name__", ""))
            if module is not None:
                return module
        return inspect.getmodule(obj, _filename)


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
        import mesa.mesa_logging as mesa_logging

        mesa_logging.inspect = _FramesWithoutSource()
        try:
            from mesa.agent import Agent
            from mesa.model import Model
        finally:
            mesa_logging.inspect = inspect
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
