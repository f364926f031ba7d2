"""The `greenpatch` command. Logging is configured here and only here, always to stderr:
stdout belongs to the LSP stream or to `--json` output. Every subcommand imports its room
lazily, so `apply-patch` and `sandbox-run` start without LiteLLM, ChromaDB or pygls."""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from greenpatch.errors import GreenpatchError

EXIT_USAGE = 2


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="greenpatch", description=__doc__.split(".")[0])
    p.add_argument("-v", "--verbose", action="count", default=0, help="more log on stderr")
    p.add_argument("--log-file", type=Path, help="write the log to this file instead of stderr")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="one headless run: task -> green proposal")
    run.add_argument("task", nargs="?", help="what to do, in plain words")
    run.add_argument("--resume", metavar="RUN_ID", help="continue a paused or interrupted run")
    run.add_argument("--list", action="store_true", help="list the runs that can be resumed")
    run.add_argument(
        "--revise",
        metavar="RUN_ID",
        help="send a green run's proposal back, with TASK saying what to change; the same "
        "run revises it",
    )
    run.add_argument(
        "--budget-usd",
        type=float,
        metavar="USD",
        help="the run's budget in USD; with --resume: how much more it may spend",
    )
    run.add_argument(
        "--budget-tokens",
        type=int,
        metavar="N",
        help="the run's budget in tokens; with --resume: how many more it may use",
    )
    run.add_argument("--workspace", type=Path, default=Path.cwd())
    run.add_argument("--model", help="model for every agent (e.g. local/qwen2.5-coder-0.5b)")
    run.add_argument("--yes", action="store_true", help="apply the green proposal to the files")
    run.add_argument(
        "--kind",
        choices=["fix", "implement", "task"],
        help="fix: make the failing tests pass; task: change without new failures "
        "(default: fix when the task talks about failures or bugs)",
    )
    run.add_argument(
        "--at",
        metavar="WHERE",
        help="where the request points, as an editor gesture would: PATH, PATH::NAME (a "
        "function or Class.method) or PATH:LINE (1-based); with --kind implement the tester "
        "writes tests for it and the coder's answers are sampled",
    )
    run.add_argument(
        "--allow-install",
        action="store_true",
        help="let the agents install Python packages (refused otherwise)",
    )
    run.add_argument("--json", action="store_true", help="print the result as JSON")

    lsp = sub.add_parser("lsp", help="the language server (stdio unless --tcp)")
    lsp.add_argument("--tcp", metavar="HOST:PORT", help="listen on TCP instead of stdio")

    ap = sub.add_parser("apply-patch", help="apply a unified diff exactly, or refuse")
    ap.add_argument("patch_file", type=Path)
    ap.add_argument("--root", type=Path, required=True)
    ap.add_argument("--check", action="store_true", help="report only; write nothing")
    ap.add_argument("--json", action="store_true")

    sr = sub.add_parser("sandbox-run", help="run a command in the sandbox on a view of DIR")
    sr.add_argument("--workspace", type=Path, required=True)
    sr.add_argument("--backend", default="auto", choices=["auto", "bwrap", "docker", "process"])
    sr.add_argument("--timeout", type=float, default=60.0)
    sr.add_argument("--json", action="store_true")
    sr.add_argument("cmd", nargs=argparse.REMAINDER, help="-- CMD ARGS...")

    ix = sub.add_parser("index", help="build or update the workspace index")
    ix.add_argument("--workspace", type=Path, default=Path.cwd())
    ix.add_argument("--json", action="store_true")

    se = sub.add_parser("search", help="search the workspace index")
    se.add_argument("query")
    se.add_argument("--workspace", type=Path, default=Path.cwd())
    se.add_argument("--files", action="store_true", help="rank files instead of chunks")
    se.add_argument("--top-k", type=int, default=10)
    se.add_argument("--json", action="store_true")

    doc = sub.add_parser("doctor", help="what is available here, and how to fix what is not")
    doc.add_argument("--workspace", type=Path, default=Path.cwd())
    doc.add_argument("--json", action="store_true")

    roles = sub.add_parser(
        "roles", help="what the agent roles learned here: rules, mistakes, versions, rollback"
    )
    roles.add_argument("role", nargs="?", help="one role: planner, coder, tester, debugger, critic")
    roles.add_argument("--history", action="store_true", help="the role's versions")
    roles.add_argument(
        "--rollback", type=int, metavar="VERSION", help="restore the role as it was at VERSION"
    )
    roles.add_argument("--workspace", type=Path, default=Path.cwd())
    roles.add_argument("--json", action="store_true")

    model = sub.add_parser("model", help="manage the embedded local models")
    msub = model.add_subparsers(dest="model_command", required=True, metavar="ACTION")
    pull = msub.add_parser("pull", help="fetch an embedded model into the user cache")
    pull.add_argument("name", nargs="?", default=None, help="default: the default local model")
    msub.add_parser("list", help="the embedded models and whether they are pulled")
    return p


def _configure_logging(verbose: int, log_file: Path | None) -> None:
    level = logging.DEBUG if verbose > 1 else logging.INFO if verbose else logging.WARNING
    handler: logging.Handler = (
        logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    )
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("LiteLLM", "litellm", "httpx", "chromadb", "urllib3"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))


def _to_stderr(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def _dispatch(args: argparse.Namespace) -> int:
    match args.command:
        case "run":
            return _run(args)
        case "roles":
            from greenpatch.agents.identity_cli import roles_command

            return roles_command(
                args.workspace,
                args.role,
                history=args.history,
                rollback=args.rollback,
                as_json=args.json,
            )
        case "lsp":
            from greenpatch.server import serve

            return serve(tcp=args.tcp)
        case "apply-patch":
            from greenpatch.patch.cli import run as apply_patch

            return apply_patch(args.patch_file, args.root, check=args.check, as_json=args.json)
        case "sandbox-run":
            from greenpatch.sandbox.cli import run as sandbox_run

            cmd = args.cmd[1:] if args.cmd[:1] == ["--"] else args.cmd
            if not cmd:
                print("greenpatch sandbox-run: give the command after --", file=sys.stderr)
                return EXIT_USAGE
            return sandbox_run(
                args.workspace, cmd, backend=args.backend, timeout=args.timeout, as_json=args.json
            )
        case "index":
            from greenpatch.indexer.cli import index

            return index(args.workspace, as_json=args.json)
        case "search":
            from greenpatch.indexer.cli import search

            return search(
                args.workspace, args.query, files=args.files, top_k=args.top_k, as_json=args.json
            )
        case "doctor":
            from greenpatch.doctor import doctor_command

            return doctor_command(args.workspace, as_json=args.json)
        case "model":
            from greenpatch.agents import local_models

            if args.model_command == "pull":
                local_models.pull(args.name or local_models.DEFAULT, progress=_to_stderr)
                return 0
            for m in local_models.CATALOGUE.values():
                state = "pulled" if local_models.is_pulled(m.name) else "not pulled"
                print(f"{m.model_id:28} {m.size_mb:>5} MB  {state:10}  {m.description}")
            return 0
    return EXIT_USAGE  # pragma: no cover - argparse enforces the choices


def _run(args: argparse.Namespace) -> int:
    from greenpatch.agents import headless

    if args.list:
        return headless.list_command(args.workspace, as_json=args.json)
    if args.revise:
        if not args.task or args.resume:
            print('greenpatch run: --revise RUN_ID "what to change"', file=sys.stderr)
            return EXIT_USAGE
        return headless.revise_command(
            args.revise,
            args.task,
            args.workspace,
            model=args.model,
            yes=args.yes,
            as_json=args.json,
            budget_usd=args.budget_usd,
            budget_tokens=args.budget_tokens,
            allow_install=args.allow_install,
        )
    if args.resume:
        if args.task:
            print("greenpatch run: give a task or --resume RUN_ID, not both", file=sys.stderr)
            return EXIT_USAGE
        return headless.resume_command(
            args.resume,
            args.workspace,
            model=args.model,
            yes=args.yes,
            as_json=args.json,
            extra_usd=args.budget_usd or 0.0,
            extra_tokens=args.budget_tokens or 0,
            allow_install=args.allow_install,
        )
    if not args.task:
        print("greenpatch run: give a task (or --resume RUN_ID, or --list)", file=sys.stderr)
        return EXIT_USAGE
    return headless.run_command(
        args.task,
        args.workspace,
        model=args.model,
        yes=args.yes,
        as_json=args.json,
        kind=args.kind,
        at=args.at,
        budget_usd=args.budget_usd,
        budget_tokens=args.budget_tokens,
        allow_install=args.allow_install,
    )


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    _configure_logging(args.verbose, args.log_file)
    try:
        return _dispatch(args)
    except GreenpatchError as exc:
        print(f"greenpatch: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("greenpatch: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
