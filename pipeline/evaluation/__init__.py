"""Evaluation: scoring runs against references, comparing them, and measuring the pipeline's own parts.

Owns reference snippets (``references``), scores (``score``), summary faithfulness
(``faithfulness``), runs side by side (``compare/``), sentence-boundary evaluation against a
gold corpus (``segmentation``) and the guards measured on reference pairs (``guard_eval``). It
reads run directories through ``pipeline.runs.outputs`` and may import every lower layer; only
``pipeline.cli`` imports it.
"""
