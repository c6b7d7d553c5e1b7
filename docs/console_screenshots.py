"""Takes the screenshots of docs/console.md: runs the console's browser test (headless Chromium
driven by Playwright, real server processes) with ``PGGIT_SCREENSHOT_DIR`` pointing at
docs/images/console/, where the walk saves each main page.

    DATABASE_URL=postgres://... REDIS_URL=redis://... .venv/bin/python docs/console_screenshots.py

Needs what the test needs: /usr/bin/chromium (apt-get install -y chromium), PostgreSQL and Redis.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TARGET = ROOT / "docs" / "images" / "console"


def main() -> int:
    if not (os.environ.get("DATABASE_URL") and os.environ.get("REDIS_URL")):
        print("Set DATABASE_URL and REDIS_URL (the walk runs real server processes).")
        return 2
    TARGET.mkdir(parents=True, exist_ok=True)
    print(f"Walking the console in headless Chromium; screenshots go to {TARGET} ...")
    env = {**os.environ, "PGGIT_SCREENSHOT_DIR": str(TARGET), "PGGIT_REQUIRE_BROWSER": "1"}
    test = "tests/console/test_browser.py"
    result = subprocess.run(  # noqa: S603 (this interpreter running pytest)
        [sys.executable, "-m", "pytest", "-q", test], cwd=ROOT, env=env, check=False
    )
    if result.returncode == 0:
        for shot in sorted(TARGET.glob("*.png")):
            print(f"  {shot.relative_to(ROOT)} ({shot.stat().st_size // 1024} KiB)")
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
