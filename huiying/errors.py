"""Errors whose message is one sentence a user can act on."""


class HuiyingError(Exception):
    """Base class: the CLI prints the message (no traceback) and exits non-zero."""


class SettingsError(HuiyingError):
    """A HUIYING_* setting is missing, mistyped or points at something unreachable."""


class InputError(HuiyingError):
    """A file or argument given by the user cannot be used as it is."""


class ChangeRefused(InputError):
    """A change the rules refuse. `code` names the rule and `params` its figures, so the
    dashboard can say it in the user's language; the message is English, for the CLI."""

    def __init__(self, code: str, message: str, **params: object) -> None:
        super().__init__(message)
        self.code = code
        self.params = params


class ImportStopped(HuiyingError):
    """An import that failed part-way (the database went away, a line could not be read …).
    The batches committed before stay stored: `stored` good rows of the file, `last_line` the
    line of the last of them; importing the same file again is safe."""

    def __init__(self, message: str, stored: int, last_line: int | None) -> None:
        super().__init__(message)
        self.stored = stored
        self.last_line = last_line
