"""The ``nl2en`` command line: thin wrappers over the library, one module a command."""

from pipeline.cli.app import app, main

__all__ = ["app", "main"]
