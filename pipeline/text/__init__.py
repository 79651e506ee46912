"""Text in: decoding input files, lossless segmentation into blocks and sentences, cutting long text.

Owns how bytes become an article (``reader``), how an article becomes segments with offsets
into it (``segment``), the normal form sources are keyed by (``normalise``), how a text too
long for a model is cut without losing a character (``split``), and which language a document
or a sentence is in (``language``: a document not in Dutch, English quoted inside Dutch). It may import only
``pipeline.errors`` and the other base modules; nothing here knows of models or outputs.
"""
