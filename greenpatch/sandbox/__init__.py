"""sandbox: isolated runs on a view of the workspace (bubblewrap, Docker engine, plain
process) and the pytest runner."""

from greenpatch.sandbox.base import Sandbox
from greenpatch.sandbox.factory import BACKENDS, BackendStatus, diagnose, from_settings, get_sandbox
from greenpatch.sandbox.limits import Limits
from greenpatch.sandbox.python import can_import, detect_python
from greenpatch.sandbox.report import TestCase, TestReport
from greenpatch.sandbox.result import CommandResult
from greenpatch.sandbox.runner import run_pytest
from greenpatch.sandbox.selection import related_tests

__all__ = [
    "BACKENDS",
    "BackendStatus",
    "CommandResult",
    "Limits",
    "Sandbox",
    "TestCase",
    "TestReport",
    "can_import",
    "detect_python",
    "diagnose",
    "from_settings",
    "get_sandbox",
    "related_tests",
    "run_pytest",
]
