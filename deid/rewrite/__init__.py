"""The rewriting engine: recipe actions on every element, keyed UIDs, dates, text, the file.

Modules: :mod:`.keyring` (KeyRing), :mod:`.engine` (deidentify), :mod:`.writer` (Part 10
bytes, atomic writes), and their helpers (:mod:`.vr` dummies and VRs, :mod:`.dates` shifting,
:mod:`.textclean` Clean for free text, :mod:`.iod` compound codes, :mod:`.private_rules`
private blocks, :mod:`.dicomdir` directory records, :mod:`.marking` PS3.15 marking,
:mod:`.quarantine` reasons). Import from the submodules (or :mod:`deid.api`); this package
stays light.
"""
