"""Models: aliases, finding and fetching checkpoints, fingerprints, and how each one decodes.

Owns model resolution (``registry``: aliases shipped with the package, local directories, the
hub), downloads and weight routes (``hub``, ``weights``), the language codes of many-to-many
models (``languages``) and decoding settings with the source of each (``decoding``). It may
import only the base modules (``errors``, ``signature``, ``locations``); never engines or above.
"""
