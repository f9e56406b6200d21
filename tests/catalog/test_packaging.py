"""The migrations ship in the wheel and run from an installed copy (not only from this checkout)."""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
SOURCES = ("pyproject.toml", "README.md", "kb_app", "ingest", "vectorstores", "ui")

# Runs inside the unpacked wheel: migrate an empty database with the scripts found through the package.
PROBE = """
import sys
from alembic import command
import kb_app
from kb_app.catalog.migrate import alembic_config, current_revision, head_revision, migrations_dir
from sqlalchemy import create_engine
command.upgrade(alembic_config(url=sys.argv[1]), "head")
print(kb_app.__file__, migrations_dir(), current_revision(create_engine(sys.argv[1])), head_revision())
"""


def test_the_wheel_carries_the_migrations_and_they_run_from_it(tmp_path: Path) -> None:
    source = tmp_path / "src"
    source.mkdir()
    for name in SOURCES:  # build from a copy: setuptools writes build/ and *.egg-info next to the sources
        if (REPO / name).is_dir():
            shutil.copytree(REPO / name, source / name, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy2(REPO / name, source / name)
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-q",
            "-w",
            str(tmp_path),
            ".",
        ],
        cwd=source,
        check=True,
        capture_output=True,
        timeout=300,
    )
    (wheel,) = tmp_path.glob("kb_app-*.whl")
    names = set(zipfile.ZipFile(wheel).namelist())
    for needed in (
        "env.py",
        "script.py.mako",
        "alembic.ini",
        "README.md",
        "versions/0001_initial_catalog.py",
    ):
        assert f"kb_app/catalog/migrations/{needed}" in names, (
            f"{needed} missing from the wheel (pyproject.toml)"
        )
    unpacked = tmp_path / "site"
    zipfile.ZipFile(wheel).extractall(unpacked)
    done = subprocess.run(
        # -S: no .pth files, so the editable install of this checkout cannot shadow the wheel; the
        # dependencies still come from site-packages, after the wheel on the path.
        [sys.executable, "-S", "-c", PROBE, f"sqlite:///{tmp_path / 'c.db'}"],
        env={"PYTHONPATH": f"{unpacked}:{sysconfig.get_paths()['purelib']}", "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,  # not the checkout: `python -c` puts the working directory first on sys.path
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    package, scripts, current, head = done.stdout.split()
    assert package.startswith(str(unpacked)) and scripts.startswith(str(unpacked))
    assert current == head
