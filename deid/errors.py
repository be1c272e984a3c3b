"""Errors a user can fix, kept apart from bugs so the CLI can print one line, not a traceback."""

from __future__ import annotations


class UserError(Exception):
    """A problem in what the user gave us (arguments, recipe, key, input path).

    The CLI prints ``deid: <message>`` and exits with ``exit_code``; nothing else
    should catch it silently.
    """

    exit_code = 2

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class RecipeError(UserError):
    """A recipe that cannot be loaded or is invalid; the message starts with file:line:col."""


class KeyMissingError(UserError):
    """No secret key could be found where the run was told to look."""
