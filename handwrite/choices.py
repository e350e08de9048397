"""The choices and defaults that front ends offer, as plain data.

Kept apart from the modules that use them (which import numpy or torch) so that a
front end can list them without loading either: `handwrite --help` stays instant.
"""
PRECISIONS = ("auto", "fp32", "bf16", "fp16", "int8", "onnx-int8", "fastest")     # sampling.check_precision
ALIGNMENTS = ("left", "center", "right")        # layout.place_lines
ORIGINS = ("bottom-left", "top-left", "bottom-right", "top-right", "center")   # plotter.GcodeProfile
DEVICES = ("auto", "cpu", "cuda")               # training.train.pick_device
EVAL_SPLITS = ("auto", "val", "all")            # training.evaluate.prepare
DEFAULT_WIDTH = 50                              # characters per line: IAM lines hold up to ~64, most ~40
DEFAULT_HIDDEN = 400                            # cells per LSTM layer of the full network (model.ModelConfig)
DEFAULT_STYLE = 9       # "airy": the preset that primes writing when no style is asked for (most legible: docs/styles.md)
FREE_STYLE = "free"     # style="free": no primer, the model picks a hand for each page
PAPERS = ("plain", "lined", "grid")             # layout.Sheet: what the page shows under the ink
DEFAULT_SIZE_MM = 2.5   # body height (the height of an x) of writing on a page, in mm: ruled paper's 8 mm lines
