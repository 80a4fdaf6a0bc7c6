"""Errors a person can act on: one line naming the fix, and the exit code to leave with."""

import os
import sys

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_HALTED = 3
EXIT_DECLINED = 4
EXIT_QUIT = 5
EXIT_FAILED = 6  # the session ended because the voice or the microphone kept failing


class UserError(Exception):
    """A problem the user can fix; the CLI prints `message` on one line and exits with `exit_code`."""

    def __init__(self, message: str, exit_code: int = EXIT_FAILURE):
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


class ContentError(UserError):
    """Bad content: names the file and the key."""

    def __init__(self, file: str, key: str, problem: str):
        super().__init__(f"content error in {file}: {key}: {problem}", EXIT_USAGE)
        self.file = file
        self.key = key
        self.problem = problem


def silence_stdout() -> None:
    """Point stdout at /dev/null once it has failed (a closed pipe, a full disk), so the
    interpreter's own flush at exit does not fail again with a traceback."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (AttributeError, OSError, ValueError):
        pass
    sys.stdout = None
