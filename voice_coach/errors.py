"""Errors a person can act on: one line naming the fix, and the exit code to leave with."""

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
