"""The one exception tree. Every handler boundary catches `GreenpatchError` and tells the user
its message; anything else is a bug, logged with its traceback and reported in one line."""

from __future__ import annotations


class GreenpatchError(Exception):
    """Base of every error we expect and can explain to a user."""


class ConfigError(GreenpatchError):
    """A setting could not be used."""


class WorkspaceError(GreenpatchError):
    """The workspace is missing, not a directory, or not readable."""


class ModelError(GreenpatchError):
    """A model could not be reached or answered with an error."""


class ModelNotAvailable(ModelError):
    """The configured model cannot be used here (not pulled, no key, unknown provider)."""


class BudgetExceeded(GreenpatchError):
    """The run's budget (USD or tokens) is spent."""


class LimitsExceeded(GreenpatchError):
    """The run used its iterations or its time without a green proposal."""


class FormatError(GreenpatchError):
    """A model reply did not contain a usable edit; the message is written for the model."""


class PatchRefused(GreenpatchError):
    """A patch does not apply; nothing was written. The message is written for the model."""


class SandboxError(GreenpatchError):
    """The sandbox could not run the command at all (not: the command failed)."""


class Cancelled(GreenpatchError):
    """The user cancelled the run."""


class StaleDocument(GreenpatchError):
    """The editor's document changed in a way the proposal cannot be re-based onto."""
