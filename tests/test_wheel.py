"""The wheel (a real install, not editable) carries the built-in rulebooks, fact schemas and examples.

Builds the wheel from a copy of the sources, installs it with --no-deps into a fresh virtual
environment that sees this environment's packages (--system-site-packages, and a .pth file for when
this environment is itself a venv: durable-rules and the rest come from here), and runs the
installed `pingji` from a folder outside the repository.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ["pyproject.toml", "README.md", "engine", "cli", "rulebooks", "facts"]


def _run(cmd: list[str], **kw: object) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PINGJI_DB")}
    return subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=600, env=env, **kw)  # type: ignore[call-overload]


def _build(src: Path, out: Path) -> Path:
    """Build the wheel of the sources in `src` into `out`."""
    base = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), str(src)]
    r = _run(base[:5] + ["--no-build-isolation"] + base[5:])
    if r.returncode != 0:  # this environment lacks the build backend's requirements: build isolated
        r = _run(base)
    assert r.returncode == 0, r.stderr
    wheels = list(out.glob("pingji-*.whl"))
    assert len(wheels) == 1
    return wheels[0]


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info")
    for name in SOURCES:
        p = ROOT / name
        if p.is_dir():
            shutil.copytree(p, src / name, ignore=ignore)
        else:
            shutil.copy(p, src / name)
    wheel = _build(src, tmp / "dist")
    with zipfile.ZipFile(wheel) as zf:
        (tmp / "files.txt").write_text("\n".join(zf.namelist()), "utf-8")
    venv = tmp / "venv"
    r = _run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)])
    assert r.returncode == 0, r.stderr
    r = _run(
        [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-deps", "--no-index", str(wheel)]
    )
    assert r.returncode == 0, r.stderr
    # Dependencies come from this environment, also when it is itself a virtual environment (CI): after
    # the venv's own site-packages, so the installed wheel is what `import pingji` finds.
    site = _run(
        [str(venv / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"]
    )
    here = {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}
    (Path(site.stdout.strip()) / "_pingji_test_deps.pth").write_text("\n".join(sorted(here)) + "\n")
    (tmp / "elsewhere").mkdir()
    return venv


def pingji(venv: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return _run([str(venv / "bin" / "pingji"), *args], cwd=venv.parent / "elsewhere")


@pytest.mark.slow
def test_installed_pingji_lists_the_built_in_rulebooks(installed):
    r = pingji(installed, "rulebooks", "--json")
    assert r.returncode == 0, r.stderr
    entries = json.loads(r.stdout)
    assert {"corporate", "manufacturing", "individual", "small_business"} <= {e["id"] for e in entries}
    assert all("/pingji/_builtin/rulebooks/" in e["file"] and str(ROOT) not in e["file"] for e in entries)


@pytest.mark.slow
def test_installed_pingji_prints_the_schemas(installed):
    r = pingji(installed, "schema", "rulebook")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout) == json.loads(
        (ROOT / "engine/schema/rulebook.schema.json").read_text("utf-8")
    )
    r = pingji(installed, "schema", "corporate")
    assert json.loads(r.stdout) == json.loads((ROOT / "facts/corporate.schema.json").read_text("utf-8"))


@pytest.mark.slow
def test_installed_pingji_rates_and_checks_with_its_built_ins(installed):
    r = _run(
        [
            str(installed / "bin" / "python"),
            "-c",
            "import pingji, pingji.builtin as b; print(pingji.__file__); print(b.facts_dir())",
        ],
        cwd=installed.parent / "elsewhere",
    )
    engine_file, facts = r.stdout.split()
    assert engine_file.startswith(str(installed)), "imported the repository, not the wheel"
    r = pingji(installed, "rate", f"{facts}/examples/machinery-a.yaml", "--db", "x.db")
    assert r.returncode == 0, r.stderr
    assert r.stdout.splitlines()[0] == "evaluation E000001 (stored in x.db)"
    assert "grade      M2 (coarse A), PD 0.05%" in r.stdout
    r = pingji(installed, "classify", f"{facts}/loans/portfolio.yaml")
    assert r.returncode == 0, r.stderr
    assert "non-performing         7      6,450,000.00   67.40%" in r.stdout
    r = pingji(installed, "check")
    assert r.returncode == 0, r.stdout
    assert re.fullmatch(r"\d+ rulebooks checked: 0 errors, \d+ warnings?", r.stdout.splitlines()[-1])


@pytest.mark.slow
def test_the_wheel_installs_one_import_package_pingji(installed):
    """Nothing named `engine` or `cli` (or anything else but pingji) lands at the top of site-packages."""
    files = (installed.parent / "files.txt").read_text("utf-8").split("\n")
    tops = {f.split("/")[0] for f in files}
    assert tops == {"pingji", "pingji-0.1.0.dist-info"}, tops
    assert "pingji/cli/main.py" in files and "pingji/rating/run.py" in files
    assert "pingji/_builtin/rulebooks/manufacturing.yaml" in files
    r = _run([str(installed / "bin" / "python"), "-c", "import pingji; print(pingji.evaluate.__module__)"],
             cwd=installed.parent / "elsewhere")
    assert r.returncode == 0 and r.stdout.strip() == "pingji.rating.run", r.stderr


def test_this_install_has_no_top_level_engine_or_cli(tmp_path):
    """The editable install (the README's) maps engine/ to pingji and cli/ to pingji.cli, nothing else."""
    code = ("import importlib.util as u, pingji, pingji.cli.main as m; "
            "print(u.find_spec('engine'), u.find_spec('cli'), pingji.__name__, m.__name__)")
    r = _run([sys.executable, "-c", code], cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["None", "None", "pingji", "pingji.cli.main"]
