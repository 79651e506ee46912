"""Quality control of each segment: glossary, guards and the retry ladder.

Owns the glossary and its check and repair (``glossary``), the guards and their evidence
(``guards``, with number matching in ``numbers``), the ``low_confidence`` calibration
(``calibration``) and the ladder of re-decodes that cures flagged output (``ladder``, its
registered rungs in ``rungs``). The
ladder talks to engines only through ``pipeline.engines.protocol``. It may import
``pipeline.engines``, ``pipeline.models``, ``pipeline.text`` and the base modules.
"""
