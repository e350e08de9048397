"""The output registry: every format renders, extensions choose formats, writes are atomic."""
import os

import pytest

from handwrite import outputs
from handwrite.fileio import atomic_write_bytes


@pytest.fixture(scope="module")
def written(request):
    from handwrite.alphabet import Alphabet
    from handwrite.model import HandwritingModel, ModelConfig
    from handwrite.preprocess import Normalizer
    from handwrite.writer import Writer
    import torch
    alphabet = Alphabet(" abcdefghijklmnopqrstuvwxyz")
    torch.manual_seed(0)
    model = HandwritingModel(ModelConfig(alphabet_size=alphabet.size, hidden=16, window_mixtures=3,
                                         output_mixtures=4)).eval()
    return Writer.from_model(model, alphabet, Normalizer([15.0, 0.5], [60.0, 56.0])).write("hi you", seed=1)


MAGIC = {"svg": b"<", "png": b"\x89PNG", "pdf": b"%PDF", "json": b"{", "inkml": b"<?xml", "gcode": b"; handwrite",
         "plotter-svg": b"<?xml"}


@pytest.mark.parametrize("name", sorted(outputs.FORMATS))
def test_every_format_renders(written, name):
    assert set(MAGIC) == set(outputs.FORMATS)
    data = outputs.FORMATS[name].render(written)
    assert isinstance(data, bytes) and data.startswith(MAGIC[name])


@pytest.mark.parametrize("file, name", [("a.svg", "svg"), ("a.PNG", "png"), ("a.pdf", "pdf"), ("a.json", "json"),
                                        ("a.gcode", "gcode"), ("a.nc", "gcode"), ("a.ngc", "gcode")])
def test_the_extension_chooses_the_format(file, name):
    assert outputs.format_for(file).name == name


def test_groups_share_extensions_but_pick_their_own_format():
    assert outputs.format_for("a.svg", outputs.PLOTTER_FORMATS).name == "plotter-svg"
    assert outputs.format_for("a.svg", outputs.FIGURE_FORMATS).name == "svg"
    assert outputs.extensions(outputs.PLOTTER_FORMATS) == [".gcode", ".nc", ".ngc", ".svg"]
    assert set(outputs.extensions()) == {".svg", ".png", ".pdf", ".json", ".inkml", ".gcode", ".nc", ".ngc"}


@pytest.mark.parametrize("group, what", [(outputs.SAVE_FORMATS, "output"), (outputs.PLOTTER_FORMATS, "plotter"),
                                         (outputs.FIGURE_FORMATS, "figure")])
def test_an_unknown_format_names_the_choices(group, what):
    with pytest.raises(ValueError, match=f"unknown {what} format '.txt'") as info:
        outputs.format_for("notes.txt", group, what)
    assert all(ext in str(info.value) for ext in outputs.extensions(group))


def test_check_output_checks_the_folder_too(tmp_path):
    assert outputs.check_output(tmp_path / "a.png").name == "png"
    with pytest.raises(FileNotFoundError, match="does not exist"):
        outputs.check_output(tmp_path / "missing" / "a.png")
    with pytest.raises(ValueError, match="unknown output format"):
        outputs.check_output(tmp_path / "a.bmp")


def test_options_for_keeps_what_the_format_takes():
    fmt = outputs.FORMATS
    given = {"color": "red", "stroke_width": 3.0, "background": "none", "dpi": 200.0, "animate": False,
             "page": "A5", "page_margin": 10.0}
    assert outputs.options_for(fmt["png"], "a.png", given) == {"color": "red", "stroke_width": 3.0,
                                                              "background": None, "dpi": 200.0,
                                                              "page": "A5", "page_margin": 10.0}
    assert "dpi" not in outputs.options_for(fmt["svg"], "a.svg", given)
    assert outputs.options_for(fmt["json"], "a.json", given) == {}
    assert outputs.options_for(fmt["gcode"], "a.gcode", given) == {}
    with pytest.raises(ValueError, match="animate needs an .svg"):
        outputs.options_for(fmt["png"], "a.png", {"animate": True})


@pytest.mark.parametrize("name", ["out.svg", "out.png", "out.pdf", "out.json", "out.gcode", "out.nc"])
def test_save_writes_every_format(written, tmp_path, name):
    path = outputs.save(written, tmp_path / name)
    assert path.read_bytes().startswith(MAGIC[outputs.format_for(name).name])
    assert sorted(p.name for p in tmp_path.iterdir()) == [name]


def test_an_atomic_write_that_fails_leaves_no_partial_file(tmp_path, monkeypatch):
    path = tmp_path / "out.bin"
    path.write_bytes(b"old")

    def crash(src, dst):
        raise OSError("disk gone")
    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(OSError, match="disk gone"):
        atomic_write_bytes(path, b"new contents")
    assert path.read_bytes() == b"old" and sorted(tmp_path.iterdir()) == [path]


def test_a_render_that_fails_writes_nothing(tmp_path):
    class Broken:
        def to_svg(self, **options):
            raise RuntimeError("renderer crashed")
    with pytest.raises(RuntimeError):
        outputs.save(Broken(), tmp_path / "out.svg")
    assert list(tmp_path.iterdir()) == []
