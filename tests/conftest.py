"""Suite-wide settings.

Under CI (``CI=true``) hypothesis runs derandomized: the same examples every run, so a red
CI always points at a change in the code, not at a new random draw. Locally every run draws
anew, which is where new failures are found (and then kept as explicit examples).
"""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
    settings.load_profile("ci")
