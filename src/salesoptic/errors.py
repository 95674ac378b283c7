"""Errors a user can cause or fix: the CLI prints their one sentence and exits non-zero."""


class UserError(Exception):
    """A problem the user can fix (bad option, missing input, unreachable server).

    The message is one sentence that says what is wrong and, where it helps, what to do.
    """
