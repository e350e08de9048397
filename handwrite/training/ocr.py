"""The off-the-shelf recognisers that judge legibility: Tesseract and PP-OCR.

They read a line drawn as a PNG, people's and the model's alike, by one renderer.  They
are judges only: the writer never tunes its output by them (the bundled reader,
handwrite/reader.py, is what the writer checks its words with).
"""
from __future__ import annotations

import io
from dataclasses import dataclass

from ..render import RenderOptions, svg_to_png, to_svg

OCR_CONFIG = "--psm 7"                         # Tesseract: the image is one line of text
# One look for every line read: a ~3 px pen at the writer's own size (~35 px lines).
# Chosen on human lines only; scale 1-2 and pen 2-5 px all gave human CER 0.26-0.33.
OCR_RENDER = RenderOptions(color="black", stroke_width=3.0, background="white", scale=1.0, margin=20.0)


class OCRUnavailableError(RuntimeError):
    """Tesseract (the program or the pytesseract package) cannot be used."""


def check_ocr():
    """The pytesseract module, once Tesseract is known to run with English data."""
    try:
        import pytesseract
    except ImportError:
        raise OCRUnavailableError(
            "Tesseract OCR is not available: the pytesseract package is not installed "
            "(pip install 'handwrite-synthesis[ocr]')") from None
    try:
        pytesseract.get_tesseract_version()
        languages = pytesseract.get_languages(config="")
    except (pytesseract.TesseractNotFoundError, OSError):
        raise OCRUnavailableError(
            "Tesseract OCR is not available: the tesseract program is not installed or not on PATH "
            "(Debian/Ubuntu: apt-get install tesseract-ocr; macOS: brew install tesseract)") from None
    except pytesseract.TesseractError as e:
        raise OCRUnavailableError(f"Tesseract OCR does not run: {e}") from None
    if "eng" not in languages:
        raise OCRUnavailableError(
            "Tesseract OCR has no English language data (Debian/Ubuntu: apt-get install tesseract-ocr-eng)")
    return pytesseract


def render_line(strokes) -> bytes:
    """PNG of one line of strokes (page units), drawn the same way for people and model."""
    return svg_to_png(to_svg(strokes, OCR_RENDER))


def read_line(png: bytes, pytesseract) -> str:
    """Tesseract's reading of a one-line PNG."""
    from PIL import Image
    with Image.open(io.BytesIO(png)) as image:
        return pytesseract.image_to_string(image.convert("L"), config=OCR_CONFIG).strip()


@dataclass
class Recogniser:
    """A handwriting reader: a name and a function from a one-line PNG to text."""
    name: str
    read: object


def recognisers() -> list[Recogniser]:
    """Tesseract and PP-OCR (rapidocr-onnxruntime), whichever are installed."""
    found = []
    try:
        tess = check_ocr()
        found.append(Recogniser("tesseract", lambda png: read_line(png, tess)))
    except OCRUnavailableError:
        pass
    try:
        from rapidocr_onnxruntime import RapidOCR
    except ImportError:
        return found
    engine = RapidOCR()

    def read_pp(png: bytes) -> str:
        # recognition only: the image is already one line, and detection would split it
        result, _ = engine(png, use_det=False, use_cls=False, use_rec=True)
        return " ".join(r[0] for r in result or []).strip()
    found.append(Recogniser("ppocr", read_pp))
    return found
