"""Handwriting -> InkML (W3C, http://www.w3.org/TR/InkML/), the ink format of tablets and note apps.

One <trace> per pen stroke, one <traceGroup> per written line carrying the line's text
as an <annotation type="truth">, coordinates in millimetres as the <traceFormat>'s
channels declare.  `Style.from_file` reads such a file back as a hand (each annotated
group a line of it); `stroke_files.read_stroke_file` is the reader.
"""
from __future__ import annotations

import xml.etree.ElementTree as ET

import numpy as np

from .layout import MM_PER_UNIT
from .render import format_number

NS = "http://www.w3.org/2003/InkML"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
DECIMALS = 3        # coordinates to a thousandth of a millimetre


def _el(parent, tag: str, text: str | None = None, **attrs) -> ET.Element:
    el = ET.SubElement(parent, f"{{{NS}}}{tag}", attrs)
    el.text = text
    return el


def to_inkml(hw, stroke_width: float = 2.0) -> str:
    """The InkML document of a `Handwriting` (see the module's doc)."""
    ET.register_namespace("", NS)
    ink = ET.Element(f"{{{NS}}}ink")
    _el(ink, "annotation", "handwriting synthesised by handwrite", type="description")
    definitions = _el(ink, "definitions")
    context = ET.SubElement(definitions, f"{{{NS}}}context", {XML_ID: "handwrite"})
    source = ET.SubElement(context, f"{{{NS}}}inkSource", {XML_ID: "handwrite-pen"})
    trace_format = ET.SubElement(source, f"{{{NS}}}traceFormat", {XML_ID: "xy-mm"})
    for name in ("X", "Y"):
        _el(trace_format, "channel", name=name, type="decimal", units="mm")
    brush = ET.SubElement(context, f"{{{NS}}}brush", {XML_ID: "pen"})
    _el(brush, "brushProperty", name="width", value=format_number(stroke_width * MM_PER_UNIT, DECIMALS), units="mm")
    for line in hw.lines:
        strokes = line.strokes
        if not strokes:
            continue
        group = _el(ink, "traceGroup", contextRef="#handwrite", brushRef="#pen")
        _el(group, "annotation", line.text, type="truth")
        for stroke in strokes:
            mm = np.asarray(stroke, np.float64)[:, :2] * MM_PER_UNIT
            _el(group, "trace", ", ".join(f"{format_number(x, DECIMALS)} {format_number(y, DECIMALS)}"
                                          for x, y in mm))
    ET.indent(ink)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(ink, encoding="unicode") + "\n"
