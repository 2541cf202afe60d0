"""The exceptions ilog raises. Their messages are ready to show to a user.

The CLI turns any :class:`IlogError` into one line ``ilog: error: <message>`` on
stderr and exits with the error's ``exit_code``: 1 for a refusal or failure,
2 for a bad value (the same status as a usage error).
"""

from __future__ import annotations


class IlogError(Exception):
    """Base class: something was refused or failed. Exit status 1."""

    exit_code = 1

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class NotFound(IlogError):
    """A contact, template, entry, segment... that does not exist."""


class Refused(IlogError):
    """A rule of the domain forbids the change (already in another company, entries use it...)."""


class AlreadyExists(Refused):
    """A code or number that is taken."""


class BadValue(IlogError):
    """An invalid value given by the user: a bad date, an unknown enum value. Exit status 2."""

    exit_code = 2


class ReadOnlyRecord(Refused, AttributeError):
    """An assignment to a read-only snapshot (what hooks after a commit receive)."""


class PluginError(IlogError):
    """A plugin failed to load, raised in a hook before the save, or vetoed the change."""


class ValidationFailed(PluginError):
    """One or more ``validate_interaction`` hooks returned messages; nothing was saved."""

    def __init__(self, messages: list[str]):
        self.messages = list(messages)
        super().__init__("; ".join(self.messages))


class Interrupted(IlogError):
    """Ctrl-C (SIGINT): the message says what was and was not done. Exit status 130."""

    exit_code = 130


class DatabaseError(IlogError):
    """The database cannot be reached, is not initialised, refused a statement, or is newer than this ilog."""


class DatabaseUnavailable(DatabaseError):
    """The database cannot be reached or cannot take a write *now*: the server refused the
    connection or did not answer within the connect timeout, has too many connections, is
    starting up or shutting down, dropped the connection, or is a read-only standby; an
    SQLite file stayed locked for the whole busy timeout. Trying again later may work, so
    ``ilog event`` (``delivery = "auto"``) spools the event instead of failing. A wrong
    password, an unknown database or a bad certificate are plain :class:`DatabaseError`:
    they need a person, not a retry."""


class ReadOnlyDatabase(DatabaseUnavailable):
    """A write to a database (or file system) that is read-only (a standby, a read-only file)."""
