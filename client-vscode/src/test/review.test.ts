import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type * as vscode from 'vscode';
import { Command, CONTEXT_REVIEWING, PROPOSAL_SCHEME } from '../common/constants';
import type { Logger } from '../common/logging';
import type { Proposal } from '../common/protocol';
import { evidenceText, hunkLine, ReviewController } from '../common/review';
import { ServerCommandError } from '../common/server';
import { FakeApi } from './fakes';
import { proposal } from './fixtures';

/** A server that keeps one proposal and records hunk decisions in it, as the real one does. */
function setup(initial: Proposal | null = proposal()) {
    const api = new FakeApi();
    let current = initial;
    const sent: { command: string; args: unknown[] }[] = [];
    const logged: string[] = [];
    const log: Logger = { debug: () => {}, info: () => {}, warn: (m) => logged.push(m), error: (m) => logged.push(m) };
    const execute = async (command: string, args: unknown[]) => {
        sent.push({ command, args });
        const arg = args[0] as { file?: string; hunk?: number };
        if (command === 'greenpatch.showProposal') {
            if (current === null) {
                throw new ServerCommandError(command, 'there is no proposal to review');
            }
            return structuredClone(current);
        }
        if ((command === 'greenpatch.acceptHunk' || command === 'greenpatch.rejectHunk') && current) {
            const file = current.files.find((f) => f.path === arg.file);
            const hunk = file?.hunks.find((h) => h.index === arg.hunk);
            assert.ok(file && hunk, `the server knows hunk ${arg.file}#${arg.hunk}`);
            hunk.accepted = command === 'greenpatch.acceptHunk';
            if (hunk.accepted) {
                api.dirty.add(file.uri); // the workspace edit lands in the open document
            }
            const remaining = current.files.flatMap((f) => f.hunks).filter((h) => h.accepted === null).length;
            if (remaining === 0) {
                current = null; // as the server does: a decided review is closed
            }
            return { file: arg.file, hunk: arg.hunk, accepted: hunk.accepted, remaining };
        }
        if (command === 'greenpatch.acceptProposal' || command === 'greenpatch.rejectProposal') {
            if (command === 'greenpatch.acceptProposal') {
                current?.files.forEach((f) => api.dirty.add(f.uri));
            }
            current = null;
        }
        return null;
    };
    const review = new ReviewController(api, execute, log);
    return { api, review, sent, logged };
}

const doc = (uri: vscode.Uri) => ({ uri }) as vscode.TextDocument;

test('open shows each file in a diff editor: current file vs the proposal scheme', async () => {
    const { api, review, sent } = setup();
    await review.open();
    assert.deepEqual(api.diffs, [
        {
            left: 'file:///ws/calc/ops.py',
            right: `${PROPOSAL_SCHEME}:/calc/ops.py?run%3Dr1`,
            title: 'calc/ops.py (current ↔ Greenpatch proposal)',
        },
        {
            left: 'file:///ws/README.md',
            right: `${PROPOSAL_SCHEME}:/README.md?run%3Dr1`,
            title: 'README.md (current ↔ Greenpatch proposal)',
        },
    ]);
    assert.equal(api.context.get(CONTEXT_REVIEWING), true);
    assert.deepEqual(
        sent.filter((s) => s.command === 'greenpatch.showProposal').map((s) => s.args),
        [[{ open: false }]],
        'the server is asked not to open its own review document',
    );
});

test('the content provider serves the proposed text, and nothing for another run', async () => {
    const { api, review } = setup();
    await review.refresh();
    const p = proposal();
    assert.equal(review.provideTextDocumentContent(review.proposedUri(p.files[0], 'r1')), p.files[0].proposed);
    assert.equal(review.provideTextDocumentContent(review.proposedUri(p.files[0], 'old')), '');
    assert.equal(
        review.provideTextDocumentContent(api.makeUri({ scheme: PROPOSAL_SCHEME, path: '/nope.py', query: 'run=r1' })),
        '',
    );
    assert.match(review.provideTextDocumentContent(review.evidenceUri('r1')), /== Tests with the change ==\n2 passed/);
});

test('code lenses: a summary, accept/reject all, and accept/reject per hunk at its line', async () => {
    const { review } = setup();
    await review.refresh();
    const lenses = review.provideCodeLenses(doc(review.proposedUri(proposal().files[0], 'r1')));
    const shown = lenses.map((l) => [l.range.start.line, l.command?.title, l.command?.command, l.command?.arguments]);
    assert.deepEqual(shown, [
        [0, '$(beaker) Test evidence · 2 iteration(s) · $0.0123', Command.showEvidence, undefined],
        [0, '$(check-all) Accept all', Command.acceptProposal, undefined],
        [0, '$(close-all) Reject all', Command.rejectProposal, undefined],
        [1, '$(check) Accept hunk 1', Command.acceptHunk, [{ runId: 'r1', file: 'calc/ops.py', hunk: 0 }]],
        [1, '$(close) Reject hunk 1', Command.rejectHunk, [{ runId: 'r1', file: 'calc/ops.py', hunk: 0 }]],
        [5, '$(check) Accept hunk 2', Command.acceptHunk, [{ runId: 'r1', file: 'calc/ops.py', hunk: 1 }]],
        [5, '$(close) Reject hunk 2', Command.rejectHunk, [{ runId: 'r1', file: 'calc/ops.py', hunk: 1 }]],
    ]);
});

test('deciding a hunk sends it, refreshes the diff, and the lens shows the decision', async () => {
    const { api, review, sent } = setup();
    await review.open();
    const changed: string[] = [];
    review.onDidChange((uri) => changed.push(uri.toString()));
    await review.decideHunk(true, { runId: 'r1', file: 'calc/ops.py', hunk: 0 });
    await review.decideHunk(false, { runId: 'r1', file: 'calc/ops.py', hunk: 1 });
    assert.deepEqual(
        sent.filter((s) => s.command.endsWith('Hunk')),
        [
            { command: 'greenpatch.acceptHunk', args: [{ runId: 'r1', file: 'calc/ops.py', hunk: 0 }] },
            { command: 'greenpatch.rejectHunk', args: [{ runId: 'r1', file: 'calc/ops.py', hunk: 1 }] },
        ],
    );
    assert.ok(changed.includes(`${PROPOSAL_SCHEME}:/calc/ops.py?run%3Dr1`));
    const titles = review
        .provideCodeLenses(doc(review.proposedUri(proposal().files[0], 'r1')))
        .slice(3)
        .map((l) => l.command?.title);
    assert.deepEqual(titles, ['$(check) hunk 1 accepted', '$(close) hunk 2 rejected']);
    assert.deepEqual(api.saved, ['file:///ws/calc/ops.py']);
    assert.deepEqual(api.closedSchemes, [], 'README.md is still undecided');
});

test('a file the user had unsaved edits in is not saved for them', async () => {
    const { api, review } = setup();
    await review.refresh();
    api.dirty.add('file:///ws/calc/ops.py');
    await review.decideHunk(true, { runId: 'r1', file: 'calc/ops.py', hunk: 0 });
    assert.deepEqual(api.saved, []);
    assert.ok(api.dirty.has('file:///ws/calc/ops.py'));
});

test('the palette hunk commands offer the undecided hunks; the last decision closes the review', async () => {
    const { api, review, sent } = setup();
    await review.refresh();
    api.pickAnswers.push((items) => items.find((i) => i.label === 'README.md · hunk 1'));
    await review.decideHunk(true);
    assert.deepEqual(
        api.offeredPicks[0].map((i) => i.label),
        ['calc/ops.py · hunk 1', 'calc/ops.py · hunk 2', 'README.md · hunk 1'],
    );
    api.pickAnswers.push(
        (items) => items[0],
        (items) => items[0],
    );
    await review.decideHunk(false);
    assert.deepEqual(
        api.offeredPicks[1].map((i) => i.label),
        ['calc/ops.py · hunk 1', 'calc/ops.py · hunk 2'],
    );
    const asked = sent.filter((s) => s.command === 'greenpatch.showProposal').length;
    await review.decideHunk(true);
    assert.equal(
        sent.filter((s) => s.command === 'greenpatch.showProposal').length,
        asked,
        'no showProposal once the server says nothing remains',
    );
    assert.deepEqual(api.closedSchemes, [PROPOSAL_SCHEME]);
    assert.equal(api.context.get(CONTEXT_REVIEWING), false);
});

test('accept all applies the run and closes the diff editors', async () => {
    const { api, review, sent } = setup();
    await review.open();
    await review.acceptAll();
    assert.deepEqual(sent.at(-1), { command: 'greenpatch.acceptProposal', args: [{ runId: 'r1' }] });
    assert.deepEqual(api.saved, ['file:///ws/calc/ops.py', 'file:///ws/README.md'], 'accepting writes the files');
    assert.deepEqual(api.closedSchemes, [PROPOSAL_SCHEME]);
    assert.equal(review.current, undefined);
});

test('reject all sends the feedback typed, none when left empty, nothing on Escape', async () => {
    for (const [typed, expected] of [
        [
            ' keep the signature ',
            [{ command: 'greenpatch.rejectProposal', args: [{ runId: 'r1', feedback: 'keep the signature' }] }],
        ],
        ['', [{ command: 'greenpatch.rejectProposal', args: [{ runId: 'r1' }] }]],
        [undefined, []],
    ] as const) {
        const { api, review, sent } = setup();
        await review.refresh();
        api.inputAnswers.push(typed);
        await review.rejectAll();
        assert.deepEqual(
            sent.filter((s) => s.command === 'greenpatch.rejectProposal'),
            expected,
        );
    }
});

test('no proposal: a message, no diff; a malformed reply is logged', async () => {
    const { api, review } = setup(null);
    await review.open();
    assert.deepEqual(api.diffs, []);
    assert.match(api.messages[0].text, /no proposal/);
    const bad = setup({ runId: 'x' } as unknown as Proposal);
    await bad.review.refresh();
    assert.equal(bad.review.current, undefined);
    assert.ok(bad.logged.some((l) => l.includes('malformed proposal')));
});

test('a hunk lens sits on its first changed line, past the leading context', () => {
    const hunk = (header: string, startLine = 0) => ({ index: 0, header, startLine, endLine: 0, accepted: null });
    const file = {
        original: 'a\nb\nc\nd\ne\nf\n',
        proposed: 'z\na\nb\nc\nD\ne\nf\n',
    };
    assert.equal(hunkLine(hunk('@@ -1,2 +1,3 @@'), file), 0, 'an insertion at the top');
    assert.equal(hunkLine(hunk('@@ -2,5 +3,5 @@ ctx'), file), 4, 'three context lines, then d -> D');
    assert.equal(hunkLine(hunk('@@ -10,3 +12,4 @@')), 11, 'without texts: the header start');
    assert.equal(hunkLine(hunk('garbled', 6)), 6, 'without a header: startLine');
    const deletion = { original: 'a\nb\n', proposed: 'a\n' };
    assert.equal(hunkLine(hunk('@@ -1,2 +1 @@'), deletion), 1, 'a deletion at the end stays in range');
});

test('the evidence text carries task, cost, both test runs and the diff', () => {
    const text = evidenceText(proposal());
    for (const part of [
        'Task: fix the failing test',
        '$0.0123',
        'iterations: 2',
        '2 failed',
        '2 passed',
        '+++ b/calc/ops.py',
    ]) {
        assert.ok(text.includes(part), part);
    }
});

test("the evidence text names the tester's new tests and the ones dropped", () => {
    assert.ok(!evidenceText(proposal()).includes("== The tester's tests =="), 'none: no section');
    const p = proposal();
    p.evidence = {
        ...p.evidence,
        newTests: ['tests/test_greenpatch_add.py'],
        droppedTests: ['tests/test_greenpatch_add.py::test_add_wrongly'],
    };
    const text = evidenceText(p);
    assert.ok(text.includes("== The tester's tests ==\nnew: tests/test_greenpatch_add.py\n"), text);
    assert.ok(
        text.includes(
            'dropped (failed on code that passes the trusted checks): tests/test_greenpatch_add.py::test_add_wrongly',
        ),
    );
    assert.ok(text.indexOf("tester's tests") < text.indexOf('== Diff =='));
});
