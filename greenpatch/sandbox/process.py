"""The `process` backend: a plain subprocess with the same limits, timeout and workspace view
but no isolation. Only used when configured explicitly; every result says so."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

from greenpatch.sandbox.base import Sandbox, resolve_command, resolve_cwd, scrubbed_env
from greenpatch.sandbox.execute import execute
from greenpatch.sandbox.result import CommandResult
from greenpatch.sandbox.view import collect_files as _collect
from greenpatch.sandbox.view import create_view

PROCESS_WARNING = (
    "backend 'process' isolates nothing: the command could reach the network, your home "
    "directory and your files; use 'bwrap' or 'docker' for code you do not trust"
)


class ProcessSandbox(Sandbox):
    """Runs each command as a plain subprocess on a view of the workspace."""

    name = "process"

    def warnings(self) -> tuple[str, ...]:
        """The no-isolation warning, in every result."""
        return (PROCESS_WARNING,)

    def run(
        self,
        workspace: Path,
        command: Sequence[str],
        *,
        overlay: Mapping[str, str | None] = {},
        timeout: float | None = None,
        env: Mapping[str, str] | None = None,
        cwd: str = ".",
        collect: Sequence[str] = (),
    ) -> CommandResult:
        """Run `command` as a subprocess on the view (see `Sandbox.run`)."""
        # The command runs on the host: the view must appear at the workspace's own path.
        view = create_view(workspace, overlay, strategies=("namespace", "copy"))
        try:
            argv = resolve_command(command, view.workspace)
            home = view.scratch / "home"
            home.mkdir()
            outcome = execute(
                argv,
                env=scrubbed_env(env, executable=argv[0], home=str(home)),
                cwd=str(resolve_cwd(view.path, cwd)),
                limits=self.limits,
                timeout=timeout,
                setup=view.preexec,
            )
            collected = _collect(view, collect)
        finally:
            view.cleanup()
        return outcome.result(self.name, self.warnings(), collected)
