"""Errors the library raises; only the CLI turns them into messages and exit codes.

Every error has a short code and one helpful sentence, so a failure in a batch of
thousands of files can be reported on one line and looked up later.
"""

from __future__ import annotations


class Nl2enError(Exception):
    """Base class of every expected failure: bad input, missing model, broken cache."""

    code = "E000"

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return f"{self.message} ({self.hint})" if self.hint else self.message


class InputError(Nl2enError):
    """An input file that cannot be read as a Dutch article."""

    code = "E100"


class EmptyInputError(InputError):
    code = "E101"


class EncodingError(InputError):
    code = "E102"


class BinaryInputError(InputError):
    code = "E103"


class InputTooLargeError(InputError):
    code = "E104"


class ModelError(Nl2enError):
    """A model that is missing, malformed or unsafe to load."""

    code = "E200"


class ModelNotFoundError(ModelError):
    code = "E201"


class CacheError(Nl2enError):
    """The translation memory cannot be opened or written."""

    code = "E300"


class OutputError(Nl2enError):
    """An output path that would escape the output directory or cannot be written."""

    code = "E400"


class ExecutorError(Nl2enError):
    """Ray is missing, unreachable or too small for the run, or a run on it failed."""

    code = "E500"


class DocumentError(Nl2enError):
    """An unexpected failure while processing one document (disk, database, engine, encoding)."""

    code = "E600"


class BatchStoppedError(Nl2enError):
    """A failure no later document could escape (the model cannot be loaded): the batch stops."""

    code = "E610"
