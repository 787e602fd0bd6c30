"""The hostile corpus: every bad scenario file gets exit 2 and one line naming its field or file.

Each file in corpus/ (the trace files it names are in corpus/traces/) starts with ``# class:``
(names, sizes, numbers, silent, files: the classes of issue 13) and ``# expect:`` (text the one
error line must contain: the field path, or the line and column for YAML problems). All files go
through ``chaossim validate`` and ``chaossim run`` in one process under a memory limit, each under
its own timeout (tests/hostile/harness.py).
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from tests.hostile.harness import assert_one_line, run_batch

CORPUS = Path(__file__).with_name("corpus")
FILES = sorted(CORPUS.glob("*.yaml"))
CLASSES = ("names", "sizes", "numbers", "silent", "files")


def header(path: Path) -> dict[str, str]:
    """The ``# key: value`` lines at the top of a corpus file."""
    out = {}
    for line in path.read_bytes().decode("utf-8", errors="replace").splitlines()[:2]:
        match = re.match(r"# (class|expect): (.*)$", line)
        if match:
            out[match.group(1)] = match.group(2)
    return out


@pytest.fixture(scope="module")
def results(tmp_path_factory) -> dict[tuple[str, str], dict]:
    work = tmp_path_factory.mktemp("corpus") / "corpus"
    shutil.copytree(CORPUS, work)  # with traces/: trace paths are relative to the scenario's folder
    invocations = []
    for path in FILES:
        invocations.append(["validate", path.name])
        invocations.append(["run", path.name, "--out", f"out-{path.stem}", "--no-figures"])
    out = run_batch(invocations, cwd=work)
    assert not any((work / f"out-{p.stem}").exists() for p in FILES), "a refused scenario left a run directory"
    return {(argv[0], argv[1]): r for argv, r in zip(invocations, out, strict=True)}


def test_corpus_covers_every_class():
    found = {header(p).get("class") for p in FILES}
    assert set(CLASSES) <= found, f"classes without a corpus file: {set(CLASSES) - found}"
    assert all(header(p).get("class") in CLASSES and header(p).get("expect") for p in FILES)


@pytest.mark.parametrize("command", ["validate", "run"])
@pytest.mark.parametrize("path", FILES, ids=[p.stem for p in FILES])
def test_bad_file_is_one_line(results, path, command):
    r = results[(command, path.name)]
    assert r["rc"] != "timeout", f"{command} {path.name} hung"
    assert_one_line(r["rc"], r["stderr"], r["stdout"], header(path)["expect"])
    # CPU, not wall time: a refusal that does real work (a blow-up) shows here; a loaded machine does not
    assert r["cpu_s"] < 5, f"{command} spent {r['cpu_s']:.1f} s of CPU to refuse {path.name}"
