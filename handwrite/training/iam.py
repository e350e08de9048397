"""Reader for the IAM On-Line Handwriting Database in its own folder layout.

    ROOT/lineStrokes/aNN/aNN-XXX/<form>-LL.xml   pen strokes of one text line
    ROOT/ascii/aNN/aNN-XXX/<form>.txt            transcription; line LL is the LL-th
                                                 non-empty line after "CSR:" (Latin-1)
    ROOT/writers.tsv                             optional: form_id <TAB> writer_id
    ROOT/original/**/strokes*.xml                optional: <Form writerID=...> headers

The database has defects (forms with more stroke files than text lines, placeholder
text, struck-out words, broken XML, pen glitches).  Such lines are skipped and
counted; `read_iam` returns the counts and emits one summary warning.
"""
from __future__ import annotations

import collections
import re
import warnings
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..stroke_files import parse_stroke_xml   # a lineStrokes file is also a style file

PLACEHOLDER_TEXTS = ("please enter transcription here",)


class DatasetError(ValueError):
    """The folder holds no usable IAM-OnDB lines (or is not IAM-OnDB at all)."""


@dataclass
class IAMLine:
    line_id: str              # e.g. "a01-000u-01"
    form_id: str              # e.g. "a01-000u"
    writer_id: str
    text: str
    strokes: list             # list of (n_i, 2) float32 arrays of absolute x, y (y down)


@dataclass
class ReadReport:
    lines: int = 0
    skipped: collections.Counter = field(default_factory=collections.Counter)
    outlier_points: int = 0
    lines_with_outliers: int = 0

    def summary(self) -> str:
        parts = [f"{n} {reason}" for reason, n in sorted(self.skipped.items())]
        s = f"read {self.lines} lines"
        if parts:
            s += f"; skipped {sum(self.skipped.values())} ({', '.join(parts)})"
        if self.outlier_points:
            s += f"; removed {self.outlier_points} outlier points in {self.lines_with_outliers} lines"
        return s


def _read_transcriptions(path: Path) -> list[str] | None:
    """Non-empty lines after the CSR: marker, or None when there is no CSR section."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")  # the database's own encoding
    marker = re.search(r"^\s*CSR:\s*$", text, flags=re.M)
    if marker is None:
        return None
    return [ln.strip() for ln in text[marker.end():].splitlines() if ln.strip()]


def _read_writer_ids(root: Path) -> dict[str, str]:
    writers: dict[str, str] = {}
    for xml_path in sorted((root / "original").glob("**/strokes*.xml")) if (root / "original").is_dir() else []:
        try:
            for _, elem in ET.iterparse(xml_path, events=("start",)):
                if elem.tag == "Form":
                    if elem.get("writerID") and elem.get("id"):
                        writers[elem.get("id")] = elem.get("writerID")
                    break
        except (ET.ParseError, LookupError, UnicodeError, OSError):
            continue
    tsv = root / "writers.tsv"
    if tsv.is_file():
        for ln in tsv.read_text(encoding="utf-8", errors="replace").splitlines():
            cols = ln.strip().split("\t")
            if len(cols) >= 2 and cols[0] != "form_id" and cols[1]:
                writers[cols[0]] = cols[1]
    return writers


def remove_outlier_points(strokes: list[np.ndarray], spike: float = 4.0, far: float = 4.0):
    """Drop pen glitches: points far off the line. Returns (strokes, n_removed).

    Distances are in units of the line's robust height (5th-95th percentile of y),
    so the rule does not depend on the tablet's resolution.
    """
    allp = np.concatenate(strokes)
    lo, hi = np.percentile(allp[:, 1], [5, 95])
    height = max(hi - lo, 1e-6)
    mid_y = np.median(allp[:, 1])
    x_lo, x_hi = np.percentile(allp[:, 0], [1, 99])
    kept, removed = [], 0
    for s in strokes:
        keep = np.abs(s[:, 1] - mid_y) < far * height
        keep &= (s[:, 0] > x_lo - far * height) & (s[:, 0] < x_hi + far * height)
        if len(s) >= 3:
            # a single point that jumps away from both neighbours
            d_prev = np.r_[0.0, np.hypot(*np.diff(s, axis=0).T)]
            d_next = np.r_[d_prev[1:], 0.0]
            keep &= ~((d_prev > spike * height) & (d_next > spike * height))
        removed += int((~keep).sum())
        if keep.any():
            kept.append(s[keep])
    return kept, removed


def read_iam(root, *, progress: bool = False, warn: bool = True) -> tuple[list[IAMLine], ReadReport]:
    """Read every usable line under `root`. Raises DatasetError when none is usable."""
    root = Path(root)
    if not root.is_dir():
        raise DatasetError(f"{root}: no such folder")
    stroke_dir, ascii_dir = root / "lineStrokes", root / "ascii"
    if not stroke_dir.is_dir() or not ascii_dir.is_dir():
        raise DatasetError(
            f"{root} is not an IAM-OnDB folder: expected lineStrokes/ and ascii/ inside it"
        )
    writers = _read_writer_ids(root)
    report = ReadReport()
    by_form = _stroke_files_by_form(stroke_dir, report)
    forms = sorted(by_form)
    iterator = forms
    if progress:
        from tqdm import tqdm
        iterator = tqdm(forms, desc="reading IAM-OnDB", unit="form")

    lines: list[IAMLine] = []
    for form in iterator:
        files = by_form[form]
        texts = _form_transcriptions(ascii_dir, form)
        if texts is None:
            report.skipped["no transcription"] += len(files)
            continue
        if len(texts) != len(files):
            report.skipped["line count mismatch"] += len(files)
            continue
        lines += _form_lines(form, files, texts, writers.get(form, form), report)
    report.lines = len(lines)
    if warn and (report.skipped or report.outlier_points):
        warnings.warn(f"IAM-OnDB at {root}: {report.summary()}", stacklevel=2)
    if not lines:
        raise DatasetError(f"{root}: no usable IAM-OnDB lines ({report.summary()})")
    return lines, report


def _stroke_files_by_form(stroke_dir: Path, report: ReadReport) -> dict[str, list[Path]]:
    """form id -> its line stroke files, in order; files named otherwise are counted as skipped."""
    by_form: dict[str, list[Path]] = collections.defaultdict(list)
    for p in sorted(stroke_dir.glob("*/*/*.xml")):
        form, _, num = p.stem.rpartition("-")
        if form and num.isdigit():
            by_form[form].append(p)
        else:
            report.skipped["unrecognised file names"] += 1
    return by_form


def _form_transcriptions(ascii_dir: Path, form: str) -> list[str] | None:
    """The text lines of a form, or None when its transcription is missing or unreadable."""
    prefix = form.split("-")[0]
    txt = ascii_dir / prefix / form[:7] / f"{form}.txt"
    if not txt.is_file():
        found = list(ascii_dir.glob(f"*/*/{form}.txt"))
        txt = found[0] if found else txt
    try:
        return _read_transcriptions(txt) if txt.is_file() else None
    except OSError:
        return None


def _form_lines(form: str, files: list[Path], texts: list[str], writer: str, report: ReadReport) -> list[IAMLine]:
    """The usable lines of one form (skipped ones counted in `report`)."""
    lines = []
    for path in files:
        num = int(path.stem.rpartition("-")[2])
        if not 1 <= num <= len(texts):
            report.skipped["line count mismatch"] += 1
            continue
        text = texts[num - 1]
        if text.lower().strip(" .") in PLACEHOLDER_TEXTS:
            report.skipped["placeholder text"] += 1
            continue
        if "#" in text or "%" in text:
            report.skipped["struck-out or garbled text"] += 1
            continue
        try:
            strokes = parse_stroke_xml(path)
        except (ValueError, OSError) as e:
            reason = str(e).split(":")[0]
            report.skipped[reason if reason in ("malformed XML", "no points") else "bad points"] += 1
            continue
        strokes, removed = remove_outlier_points(strokes)
        if removed:
            report.outlier_points += removed
            report.lines_with_outliers += 1
        if sum(len(s) for s in strokes) < 2:
            report.skipped["no points"] += 1
            continue
        lines.append(IAMLine(path.stem, form, writer, text, strokes))
    return lines
