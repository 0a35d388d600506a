"""The code a workflow script runs, derived from its imports (pfsdenoise.code_closure)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pfsdenoise.code_closure import (
    ImportFacts,
    code_record,
    import_closure,
    module_code_record,
)

REPO = Path(__file__).resolve().parents[2]


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small package `pfsdenoise` under src/ and a script outside it."""
    write(
        tmp_path,
        {
            "src/pfsdenoise/__init__.py": """
                def __getattr__(name):  # lazy re-export: not run by the script
                    from pfsdenoise.heavy import thing
                    return thing
            """,
            "src/pfsdenoise/stage/__init__.py": "",
            "src/pfsdenoise/stage/step.py": """
                from typing import TYPE_CHECKING
                from . import helper
                if TYPE_CHECKING:
                    from pfsdenoise.heavy import thing
                def run():
                    from pfsdenoise.stage.lazy import work  # runs when called
                    return work(helper.TABLE)
            """,
            "src/pfsdenoise/stage/helper.py": 'TABLE = "table.txt"\n',
            "src/pfsdenoise/stage/lazy.py": "import numpy\ndef work(t):\n    return t\n",
            "src/pfsdenoise/stage/unused.py": "x = 1\n",
            "src/pfsdenoise/heavy.py": "thing = 1\n",
            "src/pfsdenoise/data/table.txt": "1 2 3\n",
            "src/pfsdenoise/data/other.txt": "4\n",
            "scripts/run_step.py": "from pfsdenoise.stage.step import run\nrun()\n",
        },
    )
    return tmp_path


def test_closure_follows_imports_parents_and_named_data(tree: Path) -> None:
    files = import_closure(tree / "scripts/run_step.py", tree / "src")
    names = sorted(p.relative_to(tree / "src").as_posix() for p in files)
    assert names == [
        "pfsdenoise/__init__.py",
        "pfsdenoise/data/table.txt",
        "pfsdenoise/stage/__init__.py",
        "pfsdenoise/stage/helper.py",
        "pfsdenoise/stage/lazy.py",
        "pfsdenoise/stage/step.py",
    ]


def test_hash_follows_every_file_of_the_closure_and_nothing_else(tree: Path) -> None:
    script, src = tree / "scripts/run_step.py", tree / "src"
    before = code_record(script, src)
    (src / "pfsdenoise/stage/unused.py").write_text("x = 2\n")
    (src / "pfsdenoise/data/other.txt").write_text("5\n")
    assert code_record(script, src) == before
    (src / "pfsdenoise/data/table.txt").write_text("1 2 4\n")
    assert code_record(script, src)["hash"] != before["hash"]


def test_import_facts_kept_between_processes_give_the_same_closure(tree: Path) -> None:
    """A record derived through the facts file equals the parsed one, in a process that finds
    the file (a new ImportFacts) too; an edited module is parsed again; a corrupt file is
    only a cost."""
    script, src = tree / "scripts/run_step.py", tree / "src"
    store = tree / "cache" / "facts.json"
    parsed = code_record(script, src)
    assert code_record(script, src, ImportFacts(store)) == parsed
    assert store.is_file()
    again = ImportFacts(store)
    assert code_record(script, src, again) == parsed and not again._new  # all found
    helper = src / "pfsdenoise/stage/helper.py"
    helper.write_text(helper.read_text() + "\nfrom pfsdenoise.stage import unused  # noqa\n")
    (src / "pfsdenoise/stage/unused.py").write_text("x = 3\n")
    edited = code_record(script, src, ImportFacts(store))
    assert "pfsdenoise/stage/unused.py" in edited["files"]
    assert edited == code_record(script, src, ImportFacts(tree / "fresh.json"))
    store.write_text("{not json")
    assert code_record(script, src, ImportFacts(store)) == edited


def test_hash_does_not_depend_on_where_the_checkout_lies(tree: Path, tmp_path_factory) -> None:
    moved = tmp_path_factory.mktemp("moved") / "elsewhere"
    shutil.copytree(tree, moved)
    a = code_record(tree / "scripts/run_step.py", tree / "src")
    b = code_record(moved / "scripts/run_step.py", moved / "src")
    assert a == b


def test_module_record_includes_the_module_itself(tree: Path) -> None:
    record = module_code_record("pfsdenoise.stage.step", tree / "src")
    assert "pfsdenoise/stage/step.py" in record["files"]
    with pytest.raises(ModuleNotFoundError, match=r"no module 'pfsdenoise\.nope'"):
        module_code_record("pfsdenoise.nope", tree / "src")


@pytest.mark.parametrize("script", sorted((REPO / "workflow/scripts").glob("*.py")), ids=str)
def test_workflow_script_closure_holds_what_its_imports_load(script: Path) -> None:
    """Importing everything a workflow script imports loads only library files of its
    derived closure (the tiny workflow run checks the whole jobs, lazy imports included)."""
    src = REPO / "src"
    record = code_record(script, src)
    imports = [
        line for line in script.read_text().splitlines() if line.startswith(("from ", "import "))
    ]
    probe = "\n".join(
        [
            "import sys",
            *imports,
            "from pfsdenoise.code_closure import loaded_library_files",
            "print('\\n'.join(sorted(loaded_library_files(sys.modules))))",
        ]
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=REPO
    )
    loaded = set(out.stdout.split())
    assert loaded, "the probe saw no library module"
    assert loaded <= set(record["files"]), sorted(loaded - set(record["files"]))
