"""sandbox: isolated runs on a view of the workspace (bubblewrap, Docker engine, plain
process) and the pytest runner."""

from greenpatch.sandbox.base import Sandbox
from greenpatch.sandbox.factory import BACKENDS, get_sandbox
from greenpatch.sandbox.limits import Limits
from greenpatch.sandbox.python import detect_python
from greenpatch.sandbox.report import TestCase, TestReport
from greenpatch.sandbox.result import CommandResult
from greenpatch.sandbox.runner import run_pytest

__all__ = [
    "BACKENDS",
    "CommandResult",
    "Limits",
    "Sandbox",
    "TestCase",
    "TestReport",
    "detect_python",
    "get_sandbox",
    "run_pytest",
]
