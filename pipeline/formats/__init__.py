"""Documents in their own formats: web pages, Word, Markdown, subtitles, PDF.

Owns how a structured document becomes translatable **units** (a block's text view and the
inline elements inside it, :mod:`pipeline.formats.base`) and how translated units become the
same document in English (``render``), keeping everything that is not text byte-identical or
structurally identical. One module per format (``html``, ``article``, ``docx``, ``markdown``,
``subtitles``, ``pdf``), chosen by :mod:`pipeline.formats.detect`; :mod:`pipeline.formats.inline`
places inline elements (links, emphasis, Word runs) in a translated sentence. It sits on
``text``'s layer and, like it, imports only the base modules (segmenting a unit's text is
``pipeline.text.segment.segment_units``'s job, done by the pipeline); what it needs of a
translation (the target text and word alignments) comes in as plain data.
"""
