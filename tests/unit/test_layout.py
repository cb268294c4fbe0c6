"""Repository layout rules that pytest itself only reports at collection time on a clean clone."""

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1]


def test_test_module_basenames_are_unique():
    # tests/ has no __init__.py (rootdir import mode), so two test files with the same basename in
    # different folders collide on a clean checkout ("import file mismatch") even when a warm
    # __pycache__ hides it locally.
    names = Counter(p.name for p in TESTS.rglob("test_*.py"))
    dupes = sorted(n for n, c in names.items() if c > 1)
    assert dupes == []


def test_python_sources_compile():
    # A file that fails to compile breaks collection of every test that imports it; fail here
    # with the file's name instead.
    root = TESTS.parent
    bad = []
    for folder in ("kdash", "devcluster", "bench", "tests"):
        for path in (root / folder).rglob("*.py"):
            try:
                compile(path.read_text(), str(path), "exec")
            except SyntaxError as exc:
                bad.append(f"{path.relative_to(root)}:{exc.lineno}: {exc.msg}")
    assert bad == []
