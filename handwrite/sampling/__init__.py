"""Drawing pen offsets from the network, one step at a time, for a batch of lines.

Biased sampling (Graves, section 5.4): sigma = exp(log_sigma - b) and
pi = softmax(pi_logits * (1 + b)); b = 0 samples the model as trained, larger b gives
neater, more regular writing (`handwrite.mixture`).

The modules, one job each:

    reference   the definition: `model.step` and the mixture, a few lines (`reference_lines`)
    stepper     the interface every kernel implements (`Stepper`: step, read, keep, drawer)
    products    the weights of the large products in fp32, bf16, fp16 or int8; the int8 check
    kernels     the fused step (`FastStep`) and its steppers: `_Batch`, `_OneLine`
    onnx_kernel one line as one ONNX Runtime call per step (`onnx_step`) as a stepper
    registry    the kernels by precision name (`KERNELS`)
    plan        which precision runs a batch: "auto" and "fastest" by the CPU's kind
    primer      the cache per weights, the primer's shared prefix, where lines start
    points      the noise drawn up front and the draw of points
    stopping    the stopping rule and its thresholds
    loop        the step loop and the public entries (`sample_lines`, `stream_lines`)
    finish      each line cut to its own writing (`SampledLine`)
    checked     lines written a word at a time, each word judged as it is written
    spliced     lines written whole, their misread words written again from where they began
"""
from __future__ import annotations

from .checked import Candidate, checked_lines, word_ends
from .spliced import spliced_lines
from .finish import Resume, SampledLine, _delayed_strokes, _finish_line
from .kernels import FastStep, _Batch, _OneLine
from .loop import Step, _sample_lines, run_to_end, sample_lines, stream_lines
from .plan import (INT8_MIN_HIDDEN, ONNX, auto_plan, check_precision, fastest_plan, fastest_precision,
                   step_plan)
from .points import _OnePoint, draw_noise, sample_point
from .primer import PRIMER_TAIL, PRIMERS_KEPT, _CACHES, _cache_for, _primer_prefix, primer_prefix
from .products import (INT8_LAYERS, INT8_TOLERANCE, KINDS, WINDOW_AT, _Fp16Products, _Int8Layer, _Int8Products, _Products,
                       fp16_available, int8_error, probe_inputs)
from .reference import ReferenceLines, reference_lines
from .registry import KERNELS, Kernel, stepper_for
from .stepper import Stepper
from .stopping import END_STEPS, LOOKAHEAD, MIN_STEPS, STEPS_PER_CHAR, TAIL_STROKES, _Lines

__all__ = [
    "Candidate", "Resume", "checked_lines", "spliced_lines", "word_ends", "END_STEPS", "FastStep", "INT8_LAYERS", "INT8_MIN_HIDDEN", "INT8_TOLERANCE", "KERNELS", "KINDS", "Kernel", "LOOKAHEAD",
    "MIN_STEPS", "ONNX", "PRIMERS_KEPT", "PRIMER_TAIL", "ReferenceLines", "STEPS_PER_CHAR", "SampledLine", "Step",
    "Stepper", "TAIL_STROKES", "WINDOW_AT", "_Batch", "_CACHES", "_Fp16Products", "_Int8Layer", "_Int8Products", "_Lines",
    "_OneLine", "_OnePoint", "_Products", "_cache_for", "_delayed_strokes", "_finish_line", "_primer_prefix",
    "_sample_lines", "auto_plan", "check_precision", "draw_noise", "fastest_plan", "fastest_precision",
    "fp16_available", "int8_error", "primer_prefix", "probe_inputs", "reference_lines", "run_to_end", "sample_lines",
    "sample_point", "step_plan", "stepper_for", "stream_lines",
]
