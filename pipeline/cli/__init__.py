"""The ``nl2en`` command line: thin wrappers over the library, one module a command.

Commands parse options into typed option objects (``common``), call one library function and
turn its errors into one line (``handled``). This is the top layer: it may import any package,
and nothing in ``pipeline`` imports it.
"""

from pipeline.cli.app import app, main

__all__ = ["app", "main"]
