"""docs/deploy.md's systemd units pass ``systemd-analyze verify`` (with this checkout's
paths, and root for the ``tandem`` user, which this machine does not have)."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.core.ops.deploy_doc import doc_file
from tests.core.ops.deploy_doc import local_paths

UNITS = {"tandem-web@.service": "tandem-web@8001.service",
         "tandem-worker@.service": "tandem-worker@1.service",
         "tandem-scheduler.service": "tandem-scheduler.service"}


def test_the_units_verify(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    (tmp_path / "tandem.env").write_text("")
    for template, name in UNITS.items():
        lines = [local_paths(line).replace("=tandem", "=root")
                 .replace("/etc/tandem/tandem.env", str(tmp_path / "tandem.env"))
                 for line in doc_file(f"/etc/systemd/system/{template}")]
        (tmp_path / name).write_text("\n".join(lines) + "\n")
    done = subprocess.run(["systemd-analyze", "verify", *(f"./{n}" for n in UNITS.values())],
                          cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
