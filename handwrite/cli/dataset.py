"""`handwrite dataset`: training data for handwriting recognisers (handwrite.dataset)."""
from __future__ import annotations

from pathlib import Path

import click

from ..choices import PRECISIONS
from .common import EXIT_BAD_INPUT, EXIT_FAILED, fail, main

# the library's settings by the flags that set them, for its error messages
FLAGS = {"hands": "--hand", "style_files": "--style-file", "inks": "--ink", "formats": "--format",
         "check_words": "--no-check", "texts": "TEXTS", "out": "--out"}


def _range(ctx, param, value):
    """LOW,HIGH (or one number for both) -> (low, high)."""
    if value is None:
        return None
    try:
        parts = [float(v) for v in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"expected LOW,HIGH or one number, got {value!r}") from None
    if len(parts) not in (1, 2):
        raise click.BadParameter(f"expected LOW,HIGH or one number, got {value!r}")
    return (parts[0], parts[-1])


STYLE_SUFFIXES = (".json", ".inkml", ".hand")


def _style_files(ctx, param, value):
    """Each folder given -> its hand files, in name order (one hand each)."""
    files = []
    for given in value:
        path = Path(given)
        if not path.is_dir():
            files.append(given)
            continue
        found = sorted(str(p) for p in path.iterdir() if p.is_file() and p.suffix.lower() in STYLE_SUFFIXES)
        if not found:
            raise click.BadParameter(f"{given}: the folder holds no hand files ({', '.join(STYLE_SUFFIXES)})")
        files += found
    return tuple(files)


@main.command()
@click.argument("texts", required=False, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--out", "-o", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The dataset's folder: data/*.parquet, images/ with gt.txt, manifest.json.")
@click.option("--lines", "-n", type=int, default=None, help="Lines to write (the text file is reused from its start "
              "when it has fewer).  [default: 1000]")
@click.option("--seed", type=int, default=None, help="The run's seed: same seed and settings, same dataset. [default: 0]")
@click.option("--hand", "hands", multiple=True, help="A preset (name or index), 'presets' (all 16) or 'free'; "
              "repeat for several. [default: presets and free; none with --style-file]")
@click.option("--style-file", "style_files", multiple=True, type=click.Path(exists=True), callback=_style_files,
              help="A hand file (.json, .inkml with its text, a learned .hand) or a folder of them, one hand a "
                   "file; repeat for several.")
@click.option("--bias", callback=_range, help="Neatness range LOW,HIGH. [default: 0.6,1.2]")
@click.option("--size", callback=_range, help="Body height range in mm. [default: 2,3.5]")
@click.option("--slant", callback=_range, help="Slant added, degrees LOW,HIGH. [default: -8,12]")
@click.option("--pen-width", callback=_range, help="Pen width range, page units. [default: 1.2,2.8]")
@click.option("--ink", "inks", multiple=True, help="An ink colour (SVG colour); repeat for several. [default: dark inks]")
@click.option("--dpi", type=float, default=None, help="Picture resolution. [default: 150]")
@click.option("--augment", is_flag=True, default=None, help="Blur, noise, paper texture and rotation of the pictures.")
@click.option("--level", type=click.Choice(["line", "word", "both"]), default=None,
              help="Samples of whole lines, of their words, or both. [default: line]")
@click.option("--format", "formats", multiple=True, type=click.Choice(["parquet", "images"]),
              help="Parquet shards, an image folder with gt.txt; repeat for both. [default: both]")
@click.option("--no-check", is_flag=True, default=None, help="Do not check the labels with the reader (faster; "
              "some labels will be wrong).")
@click.option("--rewrites", type=int, default=None, help="Times a line still misread is written again before it is "
              "dropped. [default: 1]")
@click.option("--strict", is_flag=True, default=None, help="Stop at a character outside the alphabet (or a line too "
              "long) instead of skipping the line.")
@click.option("--max-chars", type=int, default=None, help="Longer lines are skipped. [default: 75]")
@click.option("--shard-lines", type=int, default=None, help="Lines a shard (the unit resumed). [default: 128]")
@click.option("--group-lines", type=int, default=None, help="Lines written together, one hand and bias each. [default: 128]")
@click.option("--precision", type=click.Choice(PRECISIONS), default=None, help="[default: fastest]")
@click.option("--weights", type=click.Path(dir_okay=False), default=None, help="Exported weights instead of the bundled model.")
@click.option("--workers", type=int, default=None, help="Processes on this machine [default: one per core].")
@click.option("--ray", default=None, metavar="auto|ADDRESS|local",
              help="Run the shards as Ray tasks on a cluster (auto: the one this machine is in); OUT must be a "
                   "folder every node sees. Needs pip install 'handwrite-synthesis[ray]'.")
@click.option("--resume", is_flag=True, help="Finish the run in OUT with the settings of its manifest.")
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def dataset(texts, out, resume, ray, workers, no_progress, no_check, **given):
    """Write checked handwriting samples of the lines of TEXTS for training recognisers.

    \b
    handwrite dataset lines.txt --out synth/ --lines 10000
    handwrite dataset lines.txt --out synth/ --lines 10000 --level both --augment
    handwrite dataset --resume --out synth/
    See docs/dataset.md.
    """
    from ..dataset import DatasetSettings, make_dataset, resume_dataset
    from ..options import SettingError
    given = {k: (v if not isinstance(v, tuple) or v else None) for k, v in given.items()}
    given["check_words"] = False if no_check else None
    chosen = {k: v for k, v in given.items() if v is not None}
    if "style_files" in chosen and "hands" not in chosen:
        chosen["hands"] = ()             # the files' hands only, unless --hand adds more
    try:
        if resume:
            if texts is not None or chosen:
                fail("--resume takes the settings of OUT's manifest: give only --out (and --workers, --ray)")
            summary = resume_dataset(out, workers=workers, ray=ray, progress=not no_progress)
        else:
            if texts is None:
                fail("give a TEXTS file (one sample text a line), or --resume to finish the run in OUT")
            settings = DatasetSettings(texts=str(texts), out=str(out), lines=chosen.pop("lines", 1000),
                                       workers=workers, progress=not no_progress, **chosen)
            summary = make_dataset(settings, ray=ray)
    except SettingError as e:
        fail(e.shown_with(lambda s: FLAGS.get(s, "--" + s.replace("_", "-"))), EXIT_BAD_INPUT)
    except ValueError as e:
        fail(str(e), EXIT_BAD_INPUT)
    except OSError as e:
        fail(str(e), EXIT_FAILED)
    texts_found = summary["texts"]
    click.echo(f"wrote {summary['rows']} samples of {summary['written']} lines to {out} "
               f"({summary['dropped']} dropped as still misread, {summary['rewritten']} written again; "
               f"{texts_found['skipped_unsupported']} text lines skipped for characters outside the alphabet, "
               f"{texts_found['skipped_too_long']} as too long)")
