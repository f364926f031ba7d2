"""`greenpatch sandbox-run`: one command in the sandbox on a view of a workspace."""

from __future__ import annotations

import sys
from pathlib import Path

from greenpatch.sandbox.factory import get_sandbox

EXIT_USAGE = 2


def run(workspace: Path, command: list[str], *, backend: str, timeout: float, as_json: bool) -> int:
    """Run `command` on a view of `workspace` (never modified). Prints the result's JSON
    with `as_json`, else the command's output and, on stderr, why it was stopped.
    Returns the command's exit code, 124 on timeout, 2 on a usage error."""
    if not command:
        print("greenpatch sandbox-run: give the command after --", file=sys.stderr)
        return EXIT_USAGE
    if timeout <= 0:
        print("greenpatch sandbox-run: --timeout must be positive", file=sys.stderr)
        return EXIT_USAGE
    if not Path(workspace).is_dir():
        print(f"greenpatch sandbox-run: {workspace} is not a directory", file=sys.stderr)
        return EXIT_USAGE
    # A SandboxError (the command could not run at all) reaches greenpatch.cli: exit 1.
    sandbox = get_sandbox(backend)
    result = sandbox.run(Path(workspace), command, timeout=timeout)
    if as_json:
        print(result.to_json())
    else:
        sys.stdout.write(result.stdout)
        sys.stderr.write(result.stderr)
        for warning in result.warnings:
            print(f"greenpatch sandbox-run: warning: {warning}", file=sys.stderr)
        if result.killed_reason:
            print(f"greenpatch sandbox-run: {result.killed_reason}", file=sys.stderr)
    return result.exit_code
