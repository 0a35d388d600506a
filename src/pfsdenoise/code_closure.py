"""The library code a workflow script runs, derived from its imports (never listed by hand).

:func:`import_closure` walks the ``import`` statements of a script, then of every
``pfsdenoise`` module it reaches (imports inside functions too: they run when the function is
called), and returns the source files: each module, the ``__init__.py`` of every package on
its path, and the package data files a module names by a string literal (``"etc_si_index.txt"``).
Two kinds of import are left out because they never run in a job: those under
``if TYPE_CHECKING:`` and the lazy re-exports of a package's module-level ``__getattr__``.

:func:`code_record` turns the closure into what a rule passes through ``params:``: a content
hash (independent of where the checkout lies, so a moved project plans nothing) and the files
relative to the source root. An edit to any file of the closure changes the hash, so Snakemake
reruns exactly the rules whose scripts can run it; the same record goes into provenance.
"""

from __future__ import annotations

import ast
import hashlib
import json
import os
from functools import cache
from pathlib import Path

PACKAGE = "pfsdenoise"
DATA_FOLDER = "data"


def _module_file(src_root: Path, module: str) -> Path | None:
    """The source file of ``module`` (a ``.py`` file or a package's ``__init__.py``)."""
    base = src_root.joinpath(*module.split("."))
    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _module_name(src_root: Path, path: Path) -> str:
    parts = list(path.relative_to(src_root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.Module, module: str, is_package: bool) -> list[str]:
    """Absolute module names imported anywhere in ``tree`` (``from a import b`` gives ``a``
    and ``a.b``; the caller keeps those that are modules)."""
    package = module if is_package else module.rpartition(".")[0]
    names: list[str] = []

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.FunctionDef) and node.name == "__getattr__" and is_package:
            return
        if isinstance(node, ast.expr):
            return  # imports are statements: expressions hold none (and are most nodes)
        if isinstance(node, ast.Import):
            names.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                parts = package.split(".")
                anchor = ".".join(parts[: len(parts) - node.level + 1])
                base = f"{anchor}.{node.module}" if node.module else anchor
            else:
                base = node.module or ""
            names.append(base)
            names.extend(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(tree)
    return names


@cache
def _data_folder(data_dir: Path) -> dict[str, Path]:
    """The package data files by name (listed once per process)."""
    if not data_dir.is_dir():
        return {}
    return {p.name: p for p in data_dir.iterdir() if p.is_file()}


def _data_files(tree: ast.Module, source: str, data_dir: Path) -> list[Path]:
    """Package data files named by a string literal of the module (the tree is walked only
    when a data file's name occurs in the source at all)."""
    available = _data_folder(data_dir)
    if not any(name in source for name in available):
        return []
    return [
        available[node.value]
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and isinstance(node.value, str)
        if node.value in available
    ]


def _with_parents(src_root: Path, module: str) -> list[Path]:
    """The files that ``import module`` executes: every package ``__init__`` on the way, then
    the module itself."""
    parts = module.split(".")
    files = [_module_file(src_root, ".".join(parts[: i + 1])) for i in range(len(parts))]
    return [f for f in files if f is not None]


class ImportFacts:
    """Parsed import facts, keyed by module name and source digest, parsed once per process and
    version of a file (the Snakefile derives 23 scripts' closures over the same modules) and,
    with a ``path``, kept in that file between processes: planning then parses each version of
    a library file once, not on every ``snakemake`` call (every cluster job plans the workflow
    again). Only a cache: a missing, unreadable or unwritable file costs the parse, never a
    wrong closure."""

    def __init__(self, path: str | os.PathLike | None = None):
        self.path = Path(path) if path is not None else None
        try:
            self._facts = json.loads(self.path.read_text()) if self.path else {}
        except (OSError, ValueError):
            self._facts = {}
        self._new = False
        self._keys: dict[tuple[Path, str, int, int], str] = {}

    def lookup(self, path: Path, module: str, data_dir: Path) -> tuple[list[str], list[str]]:
        """(imported module names, data file names) of the file, parsed if not known."""
        stat = path.stat()
        version = (path, module, stat.st_mtime_ns, stat.st_size)
        if version in self._keys:  # read and hashed once per process and version
            return self._facts[self._keys[version]]
        source = path.read_bytes()
        data_names = sorted(_data_folder(data_dir))
        digest = hashlib.sha256(source + "\0".join(data_names).encode()).hexdigest()[:32]
        key = f"{module}:{digest}"
        if key not in self._facts:
            names, data = _parse_facts(path, source.decode(), module, data_dir)
            self._facts[key] = [list(names), [d.name for d in data]]
            self._new = True
        self._keys[version] = key
        return self._facts[key]

    def save(self) -> None:
        """Write the facts to ``path`` if any are new (temporary name, then rename)."""
        if not self._new or self.path is None:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
            tmp.write_text(json.dumps(self._facts, sort_keys=True))
            os.replace(tmp, self.path)
            self._new = False
        except OSError:
            pass  # a cache only: the next process parses again


def _closure(
    start: list[tuple[Path, str]], src_root: Path, facts: ImportFacts | None = None
) -> tuple[Path, ...]:
    """Files reached from the ``(file, module name)`` pairs in ``start`` (kept themselves unless
    named ``__main__``, i.e. a script outside the package)."""
    facts = facts or _PROCESS_FACTS
    data_dir = src_root / PACKAGE / DATA_FOLDER
    seen = {path for path, module in start if module != "__main__"}
    todo = list(start)
    while todo:
        path, module = todo.pop()
        names, data_names = facts.lookup(path, module, data_dir)
        seen.update(data_dir / name for name in data_names)
        for name in names:
            if name != PACKAGE and not name.startswith(PACKAGE + "."):
                continue
            if _module_file(src_root, name) is None:
                continue  # `from pfsdenoise.x import some_function`: x itself is kept
            for file in _with_parents(src_root, name):
                if file not in seen:
                    seen.add(file)
                    todo.append((file, _module_name(src_root, file)))
    facts.save()
    return tuple(sorted(seen))


_PROCESS_FACTS = ImportFacts()  # without a file: parsed once per process


def _parse_facts(
    path: Path, source: str, module: str, data_dir: Path
) -> tuple[tuple[str, ...], tuple[Path, ...]]:
    tree = ast.parse(source, filename=str(path))
    names = tuple(_imports(tree, module, path.name == "__init__.py"))
    return names, tuple(_data_files(tree, source, data_dir)) if module != "__main__" else ()


@cache
def _script_closure(
    script: Path, src_root: Path, facts: ImportFacts | None = None
) -> tuple[Path, ...]:
    return _closure([(script, "__main__")], src_root, facts)


@cache
def _module_closure(module: str, src_root: Path) -> tuple[Path, ...]:
    files = _with_parents(src_root, module)
    if not files or _module_name(src_root, files[-1]) != module:
        raise ModuleNotFoundError(f"no module {module!r} under {src_root}")
    return _closure([(f, _module_name(src_root, f)) for f in files], src_root)


def import_closure(
    script: str | os.PathLike, src_root: str | os.PathLike, facts: ImportFacts | None = None
) -> list[Path]:
    """Every library source and data file that running ``script`` can execute or read.

    ``src_root`` is the folder holding the ``pfsdenoise`` package (``src/``); ``facts`` a
    cache of parsed imports kept between processes (:class:`ImportFacts`).
    """
    return list(_script_closure(Path(script).resolve(), Path(src_root).resolve(), facts))


def content_hash(files: list[Path], src_root: str | os.PathLike) -> str:
    """Short sha256 over the files' paths relative to ``src_root`` and their contents."""
    root = Path(src_root).resolve()
    h = hashlib.sha256()
    for file in sorted(files):
        h.update(file.relative_to(root).as_posix().encode() + b"\0")
        stat = file.stat()
        h.update(_file_bytes(file, stat.st_mtime_ns, stat.st_size) + b"\0")
    return "sha256:" + h.hexdigest()[:16]


@cache
def _file_bytes(path: Path, mtime_ns: int, size: int) -> bytes:
    """A file's contents, read once per process and version of the file (the Snakefile hashes
    48 closures over the same few hundred kilobytes)."""
    return path.read_bytes()


def _record(files: list[Path] | tuple[Path, ...], root: Path) -> dict[str, object]:
    return {
        "hash": content_hash(list(files), root),
        "files": [f.relative_to(root).as_posix() for f in files],
    }


def code_record(
    script: str | os.PathLike, src_root: str | os.PathLike, facts: ImportFacts | None = None
) -> dict[str, object]:
    """``{"hash": ..., "files": [...]}`` of a script's import closure (files relative to
    ``src_root``): a rule's ``params: code=``, recorded as is in provenance."""
    return _record(import_closure(script, src_root, facts), Path(src_root).resolve())


def module_code_record(module: str, src_root: str | os.PathLike | None = None) -> dict[str, object]:
    """The same record for a library module and everything it imports (for outputs made
    outside the workflow, e.g. by the command line). ``src_root`` defaults to the folder of
    the imported ``pfsdenoise`` package."""
    root = Path(src_root).resolve() if src_root else package_root()
    return _record(_module_closure(module, root), root)


def package_root() -> Path:
    """The folder holding the imported ``pfsdenoise`` package (``src/`` in a checkout)."""
    import pfsdenoise

    return Path(pfsdenoise.__file__).resolve().parent.parent


def loaded_library_files(modules: dict, src_root: str | os.PathLike | None = None) -> set[str]:
    """Files of the ``pfsdenoise`` modules in ``modules`` (``sys.modules``), relative to
    ``src_root`` (default :func:`package_root`): what a job actually imported, to check
    against its derived closure."""
    root = Path(src_root).resolve() if src_root else package_root()
    out = set()
    for name, module in list(modules.items()):
        if name != PACKAGE and not name.startswith(PACKAGE + "."):
            continue
        file = getattr(module, "__file__", None)
        if file and Path(file).resolve().is_relative_to(root):
            out.add(Path(file).resolve().relative_to(root).as_posix())
    return out


def run_library_from(src_root: str | os.PathLike) -> None:
    """Make subprocesses of this process (the jobs' scripts) import ``pfsdenoise`` from
    ``src_root`` first, whatever is installed: the code a job runs is then the code its
    derived dependencies were computed from."""
    paths = [str(Path(src_root).resolve()), os.environ.get("PYTHONPATH", "")]
    os.environ["PYTHONPATH"] = os.pathsep.join(p for p in paths if p)
