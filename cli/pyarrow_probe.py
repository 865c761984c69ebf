"""Keeping pyarrow from importing pandas in an ``asl`` process (0.3-0.5 s of every ``asl sql``).

pyarrow looks for pandas the first time it builds an array from Python objects (``pa.array``,
``pa.table``, ``Table.from_pylist`` ...: any of them, to recognise pandas objects), and when
pandas is installed that first call imports all of it.  Nothing ``asl`` runs from the console
hands pyarrow a pandas object, so the console script lets pyarrow's probe find no pandas: right
after pyarrow is imported (only if something imports it: ``asl --help`` and ``--connect`` never
do), one empty ``pa.array([])`` runs while ``pandas`` cannot be imported.  pyarrow remembers
"no pandas" only for recognising pandas objects; whatever needs pandas itself
(``Table.to_pandas()``, ``from_pandas``) imports it then as usual.

Only ``cli.main.main()`` with no ``argv`` (the console script, a process of its own) installs
this; a caller of ``main(argv)`` keeps pyarrow untouched.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import sys
from types import ModuleType
from typing import Any

__all__ = ["install"]


class _NoPandas(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "pandas" or name.startswith("pandas."):
            raise ModuleNotFoundError(f"No module named {name!r}", name=name)
        return None


class _ProbeLoader(importlib.abc.Loader):
    """pyarrow's own loader, then the probe without pandas."""

    def __init__(self, loader: Any) -> None:
        self._loader = loader

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._loader.create_module(spec)

    def exec_module(self, module: ModuleType) -> None:
        self._loader.exec_module(module)
        hide = _NoPandas()
        sys.meta_path.insert(0, hide)
        try:
            module.array([])
        finally:
            sys.meta_path.remove(hide)

    def __getattr__(self, name: str) -> Any:  # get_resource_reader, is_package, ...
        return getattr(self._loader, name)


class _OnPyarrowImport(importlib.abc.MetaPathFinder):
    def find_spec(self, name: str, path: Any = None,
                  target: Any = None) -> importlib.machinery.ModuleSpec | None:
        if name != "pyarrow":
            return None
        sys.meta_path.remove(self)  # once; and find_spec below must not come back here
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.loader is not None:
            spec.loader = _ProbeLoader(spec.loader)
        return spec


def install() -> None:
    """Make pyarrow's pandas probe find nothing, if pyarrow and pandas are not imported yet."""
    if "pyarrow" in sys.modules or "pandas" in sys.modules:
        return
    if not any(isinstance(f, _OnPyarrowImport) for f in sys.meta_path):
        sys.meta_path.insert(0, _OnPyarrowImport())
