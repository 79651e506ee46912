"""Engines: turning sources and a decoding request into scored hypotheses.

Owns the engine protocol and its typed request (``protocol``), the transformers backend
(``seq2seq``), the CTranslate2 backend with its conversion and tokenisers (``ct2``) and the
choice between them (``factory``). Engines know nothing of glossaries, guards, caches or
outputs. They may import ``pipeline.models``, ``pipeline.text`` and the base modules only.
"""
