"""Reviewing and applying proposals: the proposal document with its CodeLens, informational
diagnostics on the changed ranges, whole or per-hunk acceptance as versioned workspace edits,
checkpoints before every apply, and undo."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import from_fs_path

from greenpatch import patch
from greenpatch.agents.checkpoints import open_checkpoints
from greenpatch.agents.store import RunStore
from greenpatch.errors import GreenpatchError
from greenpatch.server import commits, edits, failures
from greenpatch.server.app import GreenpatchServer, first_argument, guarded
from greenpatch.server.review import Review

log = logging.getLogger(__name__)

PROPOSALS = Path(".greenpatch") / "proposals"


def _root(ls: GreenpatchServer) -> Path:
    if ls.session.root is None:
        raise GreenpatchError("open a folder first: Greenpatch works on a workspace folder")
    return ls.session.root


def _uri(ls: GreenpatchServer, path: str) -> str:
    return from_fs_path(str(_root(ls) / path)) or (_root(ls) / path).as_uri()


def document_text(review: Review) -> str:
    p = review.proposal
    header = [
        f"# Greenpatch proposal {p.run_id}",
        f"# Task: {p.task}",
        f"# Tests before: {p.evidence.before}",
        f"# Tests after:  {p.evidence.after}",
        f"# Cost: ${p.cost_usd:.4f} over {p.iterations} iteration(s)",
        *(f"# New tests (the tester's): {path}" for path in p.evidence.new_tests),
        *(f"# Dropped (the tester was wrong): {test}" for test in p.evidence.dropped_tests),
        "# Accept or reject each hunk with the lenses above it, or all at once above.",
    ]
    return "\n".join(header) + "\n" + p.diff


def document_path(ls: GreenpatchServer, run_id: str) -> Path:
    return _root(ls) / PROPOSALS / f"{run_id}.diff"


def publish(ls: GreenpatchServer, run_id: str) -> None:
    """Write the proposal document and mark the changed ranges."""
    review = ls.session.review(run_id)
    path = document_path(ls, run_id)
    path.parent.mkdir(parents=True, exist_ok=True)
    ignore = path.parent.parent / ".gitignore"
    if not ignore.exists():
        ignore.write_text("*\n", encoding="utf-8")
    path.write_text(document_text(review), encoding="utf-8")
    _diagnostics(ls, review)


def _diagnostics(ls: GreenpatchServer, review: Review | None, paths: Sequence[str] = ()) -> None:
    """Information diagnostics on each undecided hunk's lines (cleared when decided)."""
    targets = [c.path for c in review.proposal.changes] if review else list(paths)
    for path in targets:
        items = []
        if review is not None:
            decided = review.decisions.get(path, {})
            for hunk in review.hunks(path):
                if hunk.index in decided:
                    continue
                start = max(hunk.old_start - 1, 0)
                end = start + max(hunk.old_count - 1, 0)
                items.append(
                    types.Diagnostic(
                        range=types.Range(
                            start=types.Position(line=start, character=0),
                            end=types.Position(line=end, character=0),
                        ),
                        severity=types.DiagnosticSeverity.Information,
                        source="greenpatch",
                        message=f"Greenpatch proposes a change here (hunk {hunk.index + 1}): "
                        f"{review.proposal.task[:80]}",
                    )
                )
        ls.publish_diagnostics(_uri(ls, path), "proposal", items)


def _refresh(ls: GreenpatchServer, review: Review) -> None:
    _diagnostics(ls, review if not review.done else None, [c.path for c in review.proposal.changes])
    caps = ls.client_capabilities.workspace
    if caps and caps.code_lens and caps.code_lens.refresh_support:
        ls.workspace_code_lens_refresh(None)


def lenses(ls: GreenpatchServer, uri: str) -> list[types.CodeLens]:
    """Accept/Reject lenses on a proposal document: all at the top, one pair per hunk."""
    rel = ls.relative(uri)
    if rel is None or not rel.startswith(PROPOSALS.as_posix() + "/"):
        return []
    run_id = Path(rel).stem
    review = ls.session.reviews.get(run_id)
    if review is None:
        return []
    doc = ls.workspace.get_text_document(uri)

    def lens(line: int, title: str, command: str, args: dict[str, Any]) -> types.CodeLens:
        return types.CodeLens(
            range=types.Range(
                start=types.Position(line=line, character=0),
                end=types.Position(line=line, character=0),
            ),
            command=types.Command(title=title, command=command, arguments=[args]),
        )

    out = [
        lens(0, "Accept all", "greenpatch.acceptProposal", {"runId": run_id}),
        lens(0, "Reject all", "greenpatch.rejectProposal", {"runId": run_id}),
    ]
    current, index = "", -1
    for number, line in enumerate(doc.lines):
        if line.startswith("+++ b/"):
            current, index = line[6:].strip(), -1
        elif line.startswith("@@") and current:
            index += 1
            if index in review.decisions.get(current, {}):
                continue
            args = {"runId": run_id, "file": current, "hunk": index}
            out += [
                lens(number, "Accept hunk", "greenpatch.acceptHunk", args),
                lens(number, "Reject hunk", "greenpatch.rejectHunk", args),
            ]
    return out


async def apply_texts(
    ls: GreenpatchServer, review: Review, changes: Sequence[patch.FileChange], label: str
) -> None:
    """Re-base onto the editor's text (re-verifying in the sandbox when the user edited the
    same lines), checkpoint, then send the changes as one versioned workspace edit."""
    if not changes:
        return
    root = _root(ls)
    run_id = review.proposal.run_id
    planned = edits.plan(ls.workspace, root, changes)  # re-bases or refuses first
    if any(p.overlaps for p in planned):
        await reverify(ls, review, planned)
    checkpoints = await asyncio.to_thread(open_checkpoints, root)
    ref = await asyncio.to_thread(
        checkpoints.record,
        run_id,
        label,
        {p.change.path: p.change.old_text for p in planned},
        {p.change.path: p.change.new_text for p in planned},
    )
    response = await ls.workspace_apply_edit_async(
        types.ApplyWorkspaceEditParams(edit=edits.workspace_edit(root, planned), label=label)
    )
    if not response.applied:
        await asyncio.to_thread(checkpoints.drop, ref)
        raise GreenpatchError(
            f"the editor did not apply the edit ({response.failure_reason or 'no reason given'})"
        )
    commits.expect(ls, review.proposal, {p.change.path: p.change.new_text for p in planned})
    failures.recheck(ls)


async def reverify(ls: GreenpatchServer, review: Review, planned: Sequence[edits.Planned]) -> None:
    """The user edited lines the proposal spans and the patch engine could still re-base it:
    run the tests on the combined text; refuse, with nothing written, unless still green."""
    paths = ", ".join(p.change.path for p in planned if p.overlaps)
    ls.tell(f"Greenpatch: you edited {paths} where the proposal changes it; re-running the tests.")
    overlay: dict[str, str | None] = {**ls.buffers()}
    for item in planned:
        if item.change.old_path and item.change.old_path != item.change.path:
            overlay[item.change.old_path] = None
        overlay[item.change.path] = item.change.new_text
    report = await failures.run_tests(ls, overlay)
    state = ls.session.runs.get(review.proposal.run_id)
    must_pass = failures.targets(review.proposal, state.run.request if state else None)
    problem = failures.still_green(report, review.proposal.evidence.failing_before, must_pass)
    if problem:
        raise GreenpatchError(
            f"you edited {paths} where the proposal changes it, and with the proposal re-based "
            f"onto your text the tests are not green ({problem}); nothing was applied. Run the "
            "task again on the current text."
        )
    ls.tell(f"Greenpatch: re-based onto your edits and re-verified: {report.summary()}.")


async def accept_all(ls: GreenpatchServer, run_id: str | None) -> dict[str, Any]:
    """Apply every undecided hunk; decisions are kept only when the editor took the edit."""
    review = ls.session.review(run_id)
    undecided = review.undecided()
    changes = []
    for change in review.proposal.changes:
        now = review.text_with(change.path, review.accepted(change.path))
        todo = {i for p, i in undecided if p == change.path}
        after = review.text_with(change.path, review.accepted(change.path) | todo)
        if now != after:
            changes.append(dataclasses.replace(change, old_text=now, new_text=after))
    label = textwrap.shorten(review.proposal.task, 60, placeholder="...")
    await apply_texts(ls, review, changes, f"Greenpatch: {label}")
    for path, index in undecided:
        review.decisions.setdefault(path, {})[index] = True
    await _close_if_done(ls, review)
    ls.tell(f"Greenpatch: applied the proposal to {', '.join(c.path for c in changes)}.")
    return {"applied": [c.path for c in changes]}


async def decide_hunk(ls: GreenpatchServer, args: dict[str, Any], accept: bool) -> dict[str, Any]:
    review = ls.session.review(args.get("runId"))
    path, index = str(args.get("file") or args.get("path") or ""), args.get("hunk")
    if not isinstance(index, int):
        raise GreenpatchError("acceptHunk/rejectHunk need {file, hunk}")
    now, after = review.preview(path, index, accept)
    if now != after:
        change = review.change(path)
        await apply_texts(
            ls,
            review,
            [dataclasses.replace(change, old_text=now, new_text=after)],
            f"Greenpatch: hunk {index + 1} of {path}",
        )
    review.decisions.setdefault(path, {})[index] = accept
    await _close_if_done(ls, review)
    return {"file": path, "hunk": index, "accepted": accept, "remaining": len(review.undecided())}


async def _close_if_done(ls: GreenpatchServer, review: Review, *, record: bool = True) -> None:
    """Once every hunk is decided: the review ends, and the run store keeps the decision
    (applied when any hunk was; rejected else). A revision asked for records nothing: the
    run goes on."""
    _refresh(ls, review)
    if review.done:
        run_id = review.proposal.run_id
        if ls.session.reviews.get(run_id) is review:  # not a revision's, under the same id
            ls.session.reviews.pop(run_id)
        if record:
            applied = any(a for hunks in review.decisions.values() for a in hunks.values())
            detail = "applied by the user" if applied else "rejected by the user"
            await asyncio.to_thread(_decided, _root(ls), run_id, applied, detail)
        await commits.arm(ls, run_id)


def _decided(root: Path, run_id: str, applied: bool, detail: str) -> None:
    try:
        store = RunStore(root)
    except Exception as exc:  # the record is a help; the edit is already the user's
        log.warning("run %s: the decision was not recorded: %s", run_id, exc)
        return
    try:
        store.decided(run_id, applied, detail)
    except Exception as exc:
        log.warning("run %s: the decision was not recorded: %s", run_id, exc)
    finally:
        store.close()


async def undo_last(ls: GreenpatchServer) -> dict[str, Any]:
    """Put back what the last applied edit changed, re-based onto the current text; files the
    agent did not touch are never written."""
    root = _root(ls)
    checkpoints = await asyncio.to_thread(open_checkpoints, root)
    last = await asyncio.to_thread(checkpoints.latest)
    if last is None:
        raise GreenpatchError("nothing to undo: no edit of Greenpatch's is on record here")
    changes = [
        patch.FileChange(path=path, old_text=last.after[path], new_text=last.before[path])
        for path in sorted(last.before)
    ]
    edit = edits.workspace_edit(root, edits.plan(ls.workspace, root, changes))
    response = await ls.workspace_apply_edit_async(
        types.ApplyWorkspaceEditParams(edit=edit, label=f"Greenpatch: undo {last.label}")
    )
    if not response.applied:
        raise GreenpatchError(f"the editor did not apply the undo ({response.failure_reason})")
    await asyncio.to_thread(checkpoints.mark_undone, last)
    commits.forget(ls, last.run_id)  # not committed yet: now it never will be
    state = ls.session.runs.get(last.run_id)
    if state and state.result and state.result.proposal:
        # What failed before this run may fail again: the re-check says which.
        ls.session.failing_tests.update(state.result.proposal.evidence.failing_before)
    failures.recheck(ls)
    ls.tell(f"Greenpatch: undid '{last.label}' in {', '.join(sorted(last.before))}.")
    return {"undone": sorted(last.before), "runId": last.run_id}


def register(server: GreenpatchServer) -> None:
    @server.command("greenpatch.showProposal")
    @guarded
    async def show_proposal(ls: GreenpatchServer, *args: Any) -> Any:
        arg = first_argument(args)
        if ls.native_review and not ls.session.reviews and not arg.get("runId"):
            return None  # nothing to review: a native client shows its own empty state
        review = ls.session.review(arg.get("runId"))
        if arg.get("open", not ls.native_review):
            await _show_document(ls, review)
        return review.to_json(lambda p: _uri(ls, p))

    @server.command("greenpatch.acceptProposal")
    @guarded
    async def accept_proposal(ls: GreenpatchServer, *args: Any) -> Any:
        return await accept_all(ls, first_argument(args).get("runId"))

    @server.command("greenpatch.rejectProposal")
    @guarded
    async def reject_proposal(ls: GreenpatchServer, *args: Any) -> Any:
        arg = first_argument(args)
        review = ls.session.review(arg.get("runId"))
        feedback = str(arg.get("feedback") or "").strip()
        revision: dict[str, Any] = {}
        if feedback:  # the same run revises its proposal, from it, with the feedback
            from greenpatch.server.resuming import resume_run

            if any(a for hunks in review.decisions.values() for a in hunks.values()):
                raise GreenpatchError(
                    "part of this proposal is applied already; reject the rest without "
                    "feedback (or undo it), then ask for the change you want"
                )
            # Started first: if it cannot start (too many runs, ...) the review stays.
            revision = await resume_run(ls, {"runId": review.proposal.run_id}, feedback=feedback)
        for path, index in review.undecided():
            review.decisions.setdefault(path, {})[index] = False
        await _close_if_done(ls, review, record=not feedback)
        if feedback:
            return {"rejected": review.proposal.run_id, **revision}
        ls.tell("Greenpatch: proposal rejected; nothing was changed.")
        return {"rejected": review.proposal.run_id}

    @server.command("greenpatch.acceptHunk")
    @guarded
    async def accept_hunk(ls: GreenpatchServer, *args: Any) -> Any:
        return await decide_hunk(ls, first_argument(args), accept=True)

    @server.command("greenpatch.rejectHunk")
    @guarded
    async def reject_hunk(ls: GreenpatchServer, *args: Any) -> Any:
        return await decide_hunk(ls, first_argument(args), accept=False)

    @server.command("greenpatch.undoLastApply")
    @guarded
    async def undo(ls: GreenpatchServer, *args: Any) -> Any:
        return await undo_last(ls)

    @server.feature(types.TEXT_DOCUMENT_CODE_LENS)
    def code_lens(ls: GreenpatchServer, params: types.CodeLensParams) -> list[types.CodeLens]:
        return lenses(ls, params.text_document.uri)


async def _show_document(ls: GreenpatchServer, review: Review) -> None:
    path = document_path(ls, review.proposal.run_id)
    if not path.exists():
        publish(ls, review.proposal.run_id)
    window = ls.client_capabilities.window
    if window and window.show_document and window.show_document.support:
        result = await ls.window_show_document_async(
            types.ShowDocumentParams(
                uri=_uri(ls, str(path.relative_to(_root(ls)))), take_focus=True
            )
        )
        if result.success:
            return
    ls.tell(f"Greenpatch: the proposal is in {path}; accept it with 'greenpatch.acceptProposal'.")
