"""Run every benchmark (``bench/bench_*.py``) and print its figures.

Benchmarks are measurements, not tests: they never fail on a timing. Each module exposes
``run() -> list[tuple[str, float, str]]`` (name, value, unit). Usage: ``make bench``.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))  # shared helpers of the benchmarks (bench/_*.py)


def main() -> int:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "pggit_project.settings")
    import django

    django.setup()
    from _engine import figure

    for path in sorted(HERE.glob("bench_*.py")):
        spec = importlib.util.spec_from_file_location(path.stem, path)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        for name, value, unit in module.run():
            print(f"{path.stem:<24} {figure(name, value, unit)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
