"""Every error the library raises, in one table; only the CLI turns them into messages and exit codes.

Each error has a code, defined once here (``tests/test_errors.py`` checks that no two share
one), and one helpful sentence, so a failure in a batch of thousands of files can be reported
on one line and looked up later. The same mistake always raises the same class.

=====  ==========================================================================
code   meaning
=====  ==========================================================================
E000   any expected failure (the base class)
E010   command-line options that contradict each other or do not apply
E1xx   inputs: unreadable, empty, badly encoded, binary, too large
E2xx   models: missing, refused by the hub, unsafe weights
E300   the translation memory
E400   outputs that cannot be written where asked
E500   executors (Ray)
E6xx   documents and batches
E7xx   quality settings: glossary files, guard modes, calibrations
E8xx   evaluation: references, scores, comparisons
=====  ==========================================================================
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


class OptionsError(Nl2enError):
    """Options that contradict each other or do not apply to what was asked: refused before any work starts."""

    code = "E010"


# --- inputs ---------------------------------------------------------------------------------


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


class DocumentFormatError(InputError):
    """A document that cannot be read in its format (a corrupt DOCX, an SRT with broken timings)."""

    code = "E105"


class UnsafeDocumentError(InputError):
    """A document refused before it is read: a zip bomb, an XML entity or external reference, too deep."""

    code = "E106"


class NoTextLayerError(InputError):
    """A PDF with no text to extract: scanned, encrypted, or its text extraction fails."""

    code = "E107"


# --- models ---------------------------------------------------------------------------------


class ModelError(Nl2enError):
    """A model that is missing, malformed or unsafe to load."""

    code = "E200"


class ModelNotFoundError(ModelError):
    code = "E201"


class HubError(ModelNotFoundError):
    """The hub could not give us the model: missing, gated, unreachable or interrupted."""

    code = "E202"


class PickleRejected(ModelError):
    """The restricted loader refused a pickle checkpoint: it holds more than tensors."""

    code = "E203"


class ChatTemplateError(ModelError):
    """An instruct model whose repo has no usable chat template or prompt for translation."""

    code = "E204"


# --- cache, outputs, executors --------------------------------------------------------------


class CacheError(Nl2enError):
    """The translation memory cannot be opened or written."""

    code = "E300"


class OutputError(Nl2enError):
    """An output path that would escape the output directory or cannot be written."""

    code = "E400"


class ExecutorError(Nl2enError):
    """Ray is missing, unreachable or too small for the run, or a run on it failed."""

    code = "E500"


class ClusterLostError(ExecutorError):
    """The Ray cluster went away mid-run (no node can hold a worker, workers die as they start): the batch stops."""

    code = "E510"


# --- documents and batches ------------------------------------------------------------------


class DocumentError(Nl2enError):
    """An unexpected failure while processing one document (disk, database, engine, encoding)."""

    code = "E600"


class BatchStoppedError(Nl2enError):
    """A failure no later document could escape (the model cannot be loaded): the batch stops."""

    code = "E610"


# --- quality settings -----------------------------------------------------------------------


class QualitySettingsError(Nl2enError):
    """A glossary, guard mode or calibration that cannot be used."""

    code = "E700"


class GlossaryError(QualitySettingsError):
    """A glossary file that cannot be read."""

    code = "E710"


class GuardModeError(QualitySettingsError):
    """A guard mode other than retry, flag or off."""

    code = "E720"


class CalibrationError(QualitySettingsError):
    """A calibration store that cannot be read or written."""

    code = "E730"


class RungError(QualitySettingsError):
    """A retry-ladder rung name that no rung is registered under."""

    code = "E740"


# --- evaluation -----------------------------------------------------------------------------


class ReferencesError(Nl2enError):
    """A refs file that is missing, malformed or does not belong to the article scored."""

    code = "E800"


class ReferencesNotFoundError(ReferencesError):
    code = "E801"


class ReferencesFormatError(ReferencesError):
    code = "E802"


class ReferencesMismatchError(ReferencesError):
    code = "E803"


class ScoreError(Nl2enError):
    """A directory with nothing to score, or a run whose files cannot be read."""

    code = "E810"


class NoRunsError(ScoreError):
    code = "E811"


class CompareError(Nl2enError):
    """Nothing to compare: no runs of the requested document."""

    code = "E820"


class MixedInputsError(Nl2enError):
    """Runs to be compared, or scored against one refs file, whose inputs differ (another text, another file)."""

    code = "E830"
