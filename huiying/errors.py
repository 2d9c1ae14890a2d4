"""Errors whose message is one sentence a user can act on."""


class HuiyingError(Exception):
    """Base class: the CLI prints the message (no traceback) and exits non-zero."""


class SettingsError(HuiyingError):
    """A HUIYING_* setting is missing, mistyped or points at something unreachable."""


class InputError(HuiyingError):
    """A file or argument given by the user cannot be used as it is."""
