"""The bundled spec is found after a plain, non-editable install of the built wheel."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import venv
import zipfile
from pathlib import Path


def test_spec_files_ship_in_the_wheel_and_are_found_after_install(
    root: Path, tmp_path: Path
) -> None:
    dist = tmp_path / "dist"
    # The build backend is already installed with the test dependencies: no isolated
    # environment to fetch.
    build = [sys.executable, "-m", "build", "--wheel", "--no-isolation"]
    subprocess.run(
        [*build, "--outdir", str(dist), str(root)],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = dist.glob("tcpcheck-*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert "checker/spec/tcp.toml" in names
    assert "checker/spec/variants/linux.toml" in names

    # A fresh environment with the wheel alone installed; its dependencies are read from
    # this environment's site-packages as a plain path entry (not a site directory, so
    # the editable install's .pth is not processed and the source tree stays unseen).
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(with_pip=False).create(env_dir)
    install = [sys.executable, "-m", "pip", "--python", str(env_dir / "bin" / "python")]
    subprocess.run(
        [*install, "install", "--quiet", "--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
    )
    (site,) = (env_dir / "lib").glob("python*/site-packages")
    deps = [p for p in sys.path if p.endswith("site-packages") and Path(p).is_dir()]
    (site / "tcpcheck-test-deps.pth").write_text("\n".join(deps) + "\n")
    # Run from an empty directory, with nothing of the source tree importable.
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    clean_env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    exe = env_dir / "bin" / "tcpcheck"
    proc = subprocess.run(
        [str(exe), "spec", "--variant", "linux", "--json"],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=clean_env,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["variant"] == "linux" and len(data["states"]) == 11
    where = subprocess.run(
        [
            str(env_dir / "bin" / "python"),
            "-c",
            "import checker.model.load as s; print(s.bundled_spec_dir())",
        ],
        cwd=elsewhere,
        capture_output=True,
        text=True,
        env=clean_env,
        check=True,
    )
    assert Path(where.stdout.strip()).is_relative_to(env_dir)
