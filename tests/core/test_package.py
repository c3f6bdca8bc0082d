"""ConvLab as a package: a wheel built from the checkout, installed into a fresh folder, finds every
sample, preset and icon from there (no walking up to a checkout), and its command answers."""

from __future__ import annotations

import importlib.metadata
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(p) for p in text.split(".")[:2] if p.isdigit())


def test_every_package_folder_is_listed_in_pyproject():
    tomllib = pytest.importorskip("tomllib", reason="reading pyproject.toml needs Python 3.11's tomllib")
    config = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    listed = set(config["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "convlab").rglob("__init__.py")}
    assert listed == found | {"convlab.resources"}
    assert config["package-dir"] == {"convlab.resources": "resources"}


CHECK = r"""
import json, sys
import convlab, convlab.resources
from convlab.core.samples import SAMPLES, load_sample
from convlab.core.presets import model_presets
from convlab.core.model import Sequential
from convlab.package_data import resource_bytes
shapes = {k: list(load_sample(k).shape) for k in SAMPLES}
presets = {k: Sequential.from_spec(p.spec).num_parameters() for k, p in model_presets().items()}
icon = len(resource_bytes("icons", "convlab.png"))
print(json.dumps({"convlab": convlab.__file__, "resources": convlab.resources.__file__, "samples": shapes,
                  "presets": presets, "icon": icon}))
"""


def test_a_built_wheel_installed_elsewhere_has_its_samples_and_presets(tmp_path):
    try:
        setuptools_version = importlib.metadata.version("setuptools")
    except importlib.metadata.PackageNotFoundError:
        pytest.skip("building the wheel needs setuptools (the test extra installs it)")
    if _version_tuple(setuptools_version) < (70, 1):
        pytest.skip(f"building a wheel offline needs setuptools >= 70.1 (found {setuptools_version}); "
                    "pip install -e '.[test]' brings it")
    src = tmp_path / "src"  # a copy, so the build leaves no build/ or egg-info in the checkout
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    shutil.copytree(ROOT / "convlab", src / "convlab", ignore=ignore)
    shutil.copytree(ROOT / "resources", src / "resources", ignore=ignore)
    dist = tmp_path / "dist"
    built = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index",
                            "-q", "-w", str(dist), str(src)], capture_output=True, text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (wheel,) = dist.glob("convlab-*.whl")
    target = tmp_path / "site"
    installed = subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "-q", "--target",
                                str(target), str(wheel)], capture_output=True, text=True, timeout=300)
    assert installed.returncode == 0, installed.stderr
    assert (target / "convlab" / "resources" / "images" / "astronaut.png").is_file()
    assert not (target / "resources").exists() and not (target / "tests").exists()

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {**os.environ, "PYTHONPATH": str(target), "PYTHONNOUSERSITE": "1"}
    done = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, env=env, cwd=elsewhere,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    facts = json.loads(done.stdout.strip().splitlines()[-1])
    assert Path(facts["convlab"]).is_relative_to(target), facts["convlab"]  # the installed copy, not the checkout
    assert Path(facts["resources"]).is_relative_to(target)
    from convlab.core.presets import model_presets
    from convlab.core.samples import SAMPLES

    assert set(facts["samples"]) == set(SAMPLES) and all(s[2] == 3 for s in facts["samples"].values())
    assert set(facts["presets"]) == set(model_presets()) and facts["icon"] > 1000

    script = target / "bin" / "convlab"
    if script.exists():
        version = subprocess.run([str(script), "--version"], capture_output=True, text=True, env=env,
                                 cwd=elsewhere, timeout=60)
        assert version.returncode == 0 and version.stdout.startswith("ConvLab "), version.stderr
