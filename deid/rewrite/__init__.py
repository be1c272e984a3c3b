"""The rewriting engine: recipe actions on every element, keyed UIDs, dates, text, the file.

Modules: :mod:`.keys` (KeyRing), :mod:`.engine` (deidentify), :mod:`.writer` (Part 10 bytes,
atomic writes), and their helpers (:mod:`.vr`, :mod:`.dates`, :mod:`.textclean`,
:mod:`.iod`, :mod:`.dicomdir`). Import from the submodules; this package stays light.
"""
