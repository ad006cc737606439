"""The desktop bundle (packaging/): its metadata files, its spec, and (slow) a real build that runs.

The slow tests build the bundle with packaging/build_bundle.sh into a temporary folder, once for the
module, and run the built `imr-desk` as a user would.
"""

from __future__ import annotations

import ast
import configparser
import json
import os
import shutil
import struct
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from imr_desk.core import parse_file

ROOT = Path(__file__).resolve().parents[2]
PACKAGING = ROOT / "packaging"
SPEC = PACKAGING / "imr-desk.spec"
APP_ID = "io.github.imrdesk.ImrDesk"
DESKTOP = PACKAGING / f"{APP_ID}.desktop"
METAINFO = PACKAGING / f"{APP_ID}.metainfo.xml"
ICONS = ROOT / "resources" / "icons"
SAMPLE_PDF = ROOT / "resources" / "samples" / "CM16-0221706.pdf"


def _run(cmd: list[str], timeout: float = 120, **kw) -> subprocess.CompletedProcess[str]:
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False, **kw)


# ---------------------------------------------------------------------------- metadata (fast)

def test_desktop_entry_is_valid() -> None:
    validator = shutil.which("desktop-file-validate")
    if validator is None:
        pytest.skip("desktop-file-validate is not installed (Debian package desktop-file-utils)")
    result = _run([validator, str(DESKTOP)])
    assert result.returncode == 0, result.stdout + result.stderr
    # desktop-file-validate prints hints and warnings with a zero status: the file must have none
    assert result.stdout.strip() == "", result.stdout


def test_metainfo_is_valid() -> None:
    validator = shutil.which("appstreamcli")
    if validator is None:
        pytest.skip("appstreamcli is not installed (Debian package appstream)")
    result = _run([validator, "validate", "--no-net", str(METAINFO)])
    assert result.returncode == 0, result.stdout + result.stderr
    assert "E:" not in result.stdout and "W:" not in result.stdout, result.stdout


def test_desktop_entry_and_metainfo_name_one_application() -> None:
    entry = configparser.ConfigParser(interpolation=None, strict=True)
    entry.optionxform = str  # type: ignore[assignment,method-assign]  # keys are case-sensitive
    entry.read(DESKTOP, encoding="utf-8")
    section = entry["Desktop Entry"]
    assert section["Type"] == "Application"
    assert section["Exec"].split()[0] == "imr-desk"
    assert section["Icon"] == APP_ID

    component = ET.parse(METAINFO).getroot()
    assert component.get("type") == "desktop-application"
    assert component.findtext("id") == APP_ID
    assert component.findtext("launchable[@type='desktop-id']") == DESKTOP.name
    assert component.findtext("provides/binary") == "imr-desk"
    assert component.findtext("name") == section["Name"]


def test_icon_svg_and_its_256_png() -> None:
    svg = ET.parse(ICONS / "imr-desk.svg").getroot()
    assert svg.tag == "{http://www.w3.org/2000/svg}svg"
    png = (ICONS / "imr-desk.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and png[12:16] == b"IHDR"
    assert struct.unpack(">II", png[16:24]) == (256, 256)


def _spec_tree() -> ast.Module:
    return ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))


def test_spec_references_existing_files() -> None:
    tree = _spec_tree()
    # every ROOT / "a" / "b" path written in the spec exists
    paths: list[Path] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Div):
            parts: list[str] = []
            left: ast.expr = node
            while isinstance(left, ast.BinOp) and isinstance(left.op, ast.Div):
                if not (isinstance(left.right, ast.Constant) and isinstance(left.right.value, str)):
                    break
                parts.insert(0, left.right.value)
                left = left.left
            if isinstance(left, ast.Name) and left.id == "ROOT" and parts:
                paths.append(ROOT.joinpath(*parts))
    assert ROOT / "resources" in paths
    assert PACKAGING / "imr_desk_launcher.py" in paths
    for path in paths:
        assert path.exists(), f"the spec refers to {path}, which does not exist"
    # what the bundle's resources folder must hold
    assert list((ROOT / "resources" / "samples").glob("*.pdf")), "no sample PDF to bundle"
    assert (ICONS / "imr-desk.svg").is_file() and (ICONS / "imr-desk.png").is_file()
    # the launcher calls the console script's entry point
    launcher = (PACKAGING / "imr_desk_launcher.py").read_text(encoding="utf-8")
    assert "from imr_desk.cli import main" in launcher


def _spec_excluded_qt_modules() -> set[str]:
    for node in _spec_tree().body:
        if isinstance(node, ast.Assign) and any(
            isinstance(t, ast.Name) and t.id == "QT_EXCLUDES" for t in node.targets
        ):
            return {c.value for c in ast.walk(node.value) if isinstance(c, ast.Constant) and isinstance(c.value, str)
                    and c.value.startswith("Qt")}
    raise AssertionError("QT_EXCLUDES not found in the spec")


def test_spec_does_not_exclude_a_qt_module_the_application_imports() -> None:
    excluded = _spec_excluded_qt_modules()
    assert {"QtWebEngineCore", "QtQuick", "QtQml", "Qt3DCore", "QtMultimedia"} <= excluded
    used: set[str] = set()
    for source in (ROOT / "imr_desk").rglob("*.py"):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("PySide6."):
                used.add(node.module.split(".")[1])
            elif isinstance(node, ast.ImportFrom) and node.module == "PySide6":
                used.update(alias.name for alias in node.names)
            elif isinstance(node, ast.Import):
                used.update(a.name.split(".")[1] for a in node.names if a.name.startswith("PySide6."))
    assert "QtWidgets" in used
    assert not (used & excluded), f"the spec leaves out Qt modules the application imports: {used & excluded}"


def test_build_script_fails_with_a_clear_message(tmp_path: Path) -> None:
    if not (ROOT / ".venv" / "bin" / "python").exists():
        pytest.skip("no .venv (run packaging/bootstrap.sh)")
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder", encoding="utf-8")
    result = _run(["bash", str(PACKAGING / "build_bundle.sh"), str(blocker / "dist")])
    assert result.returncode != 0
    assert "build_bundle: error:" in result.stderr
    assert "Traceback" not in result.stderr


# ---------------------------------------------------------------------------- a real build (slow)

@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Build the bundle with the build script into a temporary folder; the bundle's folder."""
    base = tmp_path_factory.mktemp("bundle")
    env = dict(os.environ, IMR_DESK_BUILD_DIR=str(base / "work"))
    result = _run(["bash", str(PACKAGING / "build_bundle.sh"), str(base / "dist")], timeout=1800, env=env)
    assert result.returncode == 0, f"build failed:\n{result.stdout}\n{result.stderr}"
    folder = base / "dist" / "imr-desk"
    assert f"Built {folder}" in result.stdout
    assert (folder / "imr-desk").is_file()
    return folder


def _bundle_env(tmp_path: Path) -> dict[str, str]:
    # nothing of the source tree or its venv may leak into the bundle's run
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV")}
    env["IMR_DESK_HOME"] = str(tmp_path / "home")
    env["QT_QPA_PLATFORM"] = "offscreen"
    return env


@pytest.mark.slow
def test_bundle_parses_a_sample_letter(bundle: Path, tmp_path: Path) -> None:
    # run from an unrelated folder with the sample copied there, so the source tree is not used
    letter = tmp_path / SAMPLE_PDF.name
    shutil.copyfile(SAMPLE_PDF, letter)
    result = _run([str(bundle / "imr-desk"), "parse", str(letter)], cwd=tmp_path, env=_bundle_env(tmp_path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["source"]["name"] == "CM16-0221706.pdf"
    assert record["source"]["media_type"] == "application/pdf"
    assert record["case"]["case_number"] == "CM16-0221706"
    assert record["items"], "no disputed items read"
    assert all(item["request"] and item["decision"] for item in record["items"])
    assert "error" not in record or not record["error"]
    # the bundle reads the letter exactly as the source tree does (libpdfium, ftfy... all there)
    expected = parse_file(letter)
    assert record["items"] == expected["items"]
    assert record["case"] == expected["case"]


@pytest.mark.slow
def test_bundle_help_and_errors(bundle: Path, tmp_path: Path) -> None:
    env = _bundle_env(tmp_path)
    result = _run([str(bundle / "imr-desk"), "--help"], cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    assert "Usage: imr-desk" in result.stdout and "parse" in result.stdout
    result = _run([str(bundle / "imr-desk"), "parse", "--help"], cwd=tmp_path, env=env)
    assert result.returncode == 0 and "FILE" in result.stdout
    result = _run([str(bundle / "imr-desk"), "parse", str(tmp_path / "missing.pdf")], cwd=tmp_path, env=env)
    assert result.returncode == 1
    assert json.loads(result.stdout)["error"]
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_bundle_holds_its_resources_and_no_unused_qt(bundle: Path) -> None:
    internal = bundle / "_internal"
    assert (internal / "resources" / "samples" / SAMPLE_PDF.name).is_file()
    assert (internal / "resources" / "icons" / "imr-desk.png").is_file()
    assert list(internal.rglob("libpdfium*")), "libpdfium was not collected"
    names = {p.name for p in internal.rglob("*")}
    for unused in ("QtQuick.abi3.so", "QtQml.abi3.so", "QtNetwork.abi3.so", "libqgtk3.so"):
        assert unused not in names
    assert not any(n.startswith(("libQt6Quick", "libQt6Qml", "libQt6WebEngine")) for n in names)


@pytest.mark.slow
def test_bundle_opens_the_review_window(bundle: Path, tmp_path: Path) -> None:
    """`imr-desk` with no command starts Qt from the bundle (offscreen) and seeds the first-run database."""
    env = _bundle_env(tmp_path)
    db = Path(env["IMR_DESK_HOME"]) / "data" / "imr-desk.db"
    log = tmp_path / "window.log"
    samples = len([p for p in (ROOT / "resources" / "samples").iterdir() if p.suffix in (".pdf", ".txt")])
    with log.open("w", encoding="utf-8") as out:
        proc = subprocess.Popen([str(bundle / "imr-desk")], cwd=tmp_path, env=env, stdout=out, stderr=out)
        try:
            deadline = time.monotonic() + 120
            seeded = False
            while time.monotonic() < deadline and proc.poll() is None:
                if db.is_file() and _letters_in(db) >= samples:
                    seeded = True
                    break
                time.sleep(0.5)
            exited = proc.poll()
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    output = log.read_text(encoding="utf-8", errors="replace")
    assert exited is None, f"the window exited with status {exited}:\n{output}"
    assert seeded, f"the first-run database was not seeded with the sample letters:\n{output}"
    assert "Traceback" not in output and "Could not load the Qt platform plugin" not in output, output


def _letters_in(db: Path) -> int:
    import sqlite3

    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(con.execute("SELECT count(*) FROM letters").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


if sys.platform != "linux":  # the bundle and its metadata are for Linux
    pytestmark = pytest.mark.skip("the desktop bundle is built for Linux")
