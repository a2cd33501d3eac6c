"""vulture finds no dead code ([tool.vulture] in pyproject.toml; what frameworks, templates
and names in strings use is listed in scripts/vulture_whitelist.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[3]
VULTURE = Path(sys.executable).parent / "vulture"


def test_vulture_finds_no_unused_code():
    result = subprocess.run([str(VULTURE)], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_vulture_reports_an_unused_function(tmp_path):
    (tmp_path / "sample.py").write_text("def used():\n    return 1\n\n\n"
                                        "def forgotten():\n    return 2\n\n\nused()\n")
    result = subprocess.run([str(VULTURE), "--min-confidence", "60", "sample.py"],
                            cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert result.returncode == 3
    assert "unused function 'forgotten'" in result.stdout
