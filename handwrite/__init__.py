"""handwrite: text to realistic pen-stroke handwriting (Graves' synthesis network).

    from handwrite import Writer
    Writer().write("Hello world").to_svg("hello.svg")

Heavy modules (torch) load on first use, so `import handwrite` and `handwrite --help`
stay fast; click and matplotlib load only with the CLI and the figures.  The layers
and what each module may import: docs/architecture.md.
"""
__version__ = "0.1.0"

__all__ = ["Writer", "WriterOptions", "WriteRequest", "Handwriting", "Reader", "Alphabet", "UnsupportedCharacterError",
           "Style", "__version__"]

_LAZY = {
    "Writer": ("handwrite.writer", "Writer"),
    "WriterOptions": ("handwrite.options", "WriterOptions"),
    "WriteRequest": ("handwrite.request", "WriteRequest"),
    "Handwriting": ("handwrite.handwriting", "Handwriting"),
    "Alphabet": ("handwrite.alphabet", "Alphabet"),
    "UnsupportedCharacterError": ("handwrite.alphabet", "UnsupportedCharacterError"),
    "Style": ("handwrite.styles", "Style"),
    "Reader": ("handwrite.reader", "Reader"),
}


def __getattr__(name):
    if name in _LAZY:
        import importlib
        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'handwrite' has no attribute {name!r}")
