"""`greenpatch roles`: what each agent role has learned here (its rules, with how often they
were used and helped, and its mistakes), its versions, and a rollback to one of them."""

from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict
from pathlib import Path

from greenpatch.agents.identity import Identities, Identity
from greenpatch.errors import WorkspaceError


def roles_command(
    workspace: Path, role: str | None, *, history: bool, rollback: int | None, as_json: bool
) -> int:
    if not workspace.is_dir():
        raise WorkspaceError(f"workspace {workspace} is not a directory")
    if not (workspace / ".greenpatch" / "identity.db").exists():
        _say("no role has learned anything here yet: identities start with the first run")
        return 0
    ids = Identities(workspace)
    try:
        known = ids.roles()
        if role is not None and role not in known:
            raise WorkspaceError(f"no role {role!r} here; the roles are: {', '.join(known)}")
        if (history or rollback is not None) and role is None:
            raise WorkspaceError("name the role: greenpatch roles ROLE --history | --rollback N")
        if rollback is not None and role is not None:
            try:
                identity = ids.rollback(role, rollback)
            except KeyError as exc:
                raise WorkspaceError(str(exc.args[0])) from None
            _say(f"{role} is now as it was at version {rollback} (recorded as {identity.version})")
            return _print([identity], as_json)
        if history and role is not None:
            versions = ids.history(role)
            if as_json:
                print(json.dumps([asdict(v) for v in versions], indent=2))  # noqa: T201
            for v in [] if as_json else versions:
                when = time.strftime("%Y-%m-%d %H:%M", time.localtime(v.at))
                print(f"{v.version:>4}  {when}  {v.change}")  # noqa: T201 - CLI output
            return 0
        return _print([ids.get(r) for r in ([role] if role else known)], as_json)
    finally:
        ids.close()


def _print(identities: list[Identity], as_json: bool) -> int:
    if as_json:
        print(json.dumps([asdict(i) for i in identities], indent=2))  # noqa: T201
        return 0
    for identity in identities:
        print(f"{identity.role} (version {identity.version}): {identity.expertise}")  # noqa: T201
        for rule in identity.rules:
            print(f"  rule {rule.id}: {rule.text}  [helped {rule.successes} of {rule.uses}]")  # noqa: T201
        for mistake in identity.mistakes[-5:]:
            print(f"  mistake: {mistake}")  # noqa: T201
    return 0


def _say(line: str) -> None:
    print(f"greenpatch: {line}", file=sys.stderr, flush=True)  # noqa: T201 - CLI output
