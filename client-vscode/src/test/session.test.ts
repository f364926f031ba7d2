import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type * as vscode from 'vscode';
import { Command, CONTEXT_ACTIVE, PROPOSAL_SCHEME } from '../common/constants';
import type { Proposal } from '../common/protocol';
import { Session } from '../common/session';
import { FakeApi, FakeServer, settle } from './fakes';
import { proposal } from './fixtures';

function setup() {
    const api = new FakeApi();
    api.folders = [{ uri: api.fileUri('/ws'), name: 'ws', index: 0 } as vscode.WorkspaceFolder];
    const server = new FakeServer();
    let current: Proposal | null = null;
    server.handlers.set('greenpatch.status', () => ({ state: 'idle' }));
    server.handlers.set('greenpatch.showProposal', () => current ?? { error: 'there is no proposal to review' });
    const session = new Session({ api, connectionFactory: () => server.factory, which: (c) => `/usr/bin/${c}` });
    return { api, server, session, setProposal: (p: Proposal | null) => (current = p) };
}

test('activation starts `python3 -m greenpatch.cli lsp` in the workspace with the mapped settings', async () => {
    const { api, server, session } = setup();
    api.settings.set('greenpatch.models.default', 'scripted/fix.json');
    await session.start();
    const c = server.latest;
    assert.equal(c.launch.command, '/usr/bin/python3');
    assert.deepEqual(c.launch.args, ['-m', 'greenpatch.cli', 'lsp']);
    assert.equal(c.launch.cwd, '/ws');
    assert.equal(c.settings().models.default, 'scripted/fix.json');
    await settle();
    assert.equal(api.context.get(CONTEXT_ACTIVE), true);
    assert.equal(api.statusItem.text, '$(check) Greenpatch');
    assert.ok(api.contentProviders.has(PROPOSAL_SCHEME));
    assert.ok(api.lensProviders.has(PROPOSAL_SCHEME));
    session.dispose();
    assert.equal(api.commands.size, 0, 'dispose unregisters the commands');
});

test('the interpreter setting wins over PATH, and changing it restarts the server', async () => {
    const { api, server, session } = setup();
    await session.start();
    api.changeSettings({ 'greenpatch.interpreter': '/venv/bin/python' });
    api.changeSettings({ 'greenpatch.trace.server': 'verbose' });
    await settle();
    assert.equal(server.connections.length, 2, 'one restart for the interpreter, none for the trace');
    assert.equal(server.latest.launch.command, '/venv/bin/python');
    session.dispose();
});

test('an untrusted workspace runs nothing until trust is granted', async () => {
    const { api, server, session } = setup();
    api.trusted = false;
    await session.start();
    assert.equal(server.connections.length, 0);
    assert.match(api.statusItem.text, /restricted/);
    api.trusted = true;
    api.trustGranted.fire();
    await settle();
    assert.equal(server.connections.length, 1);
    session.dispose();
});

test('a run from event to review: status, log, notification, diff, accept', async () => {
    const { api, server, session, setProposal } = setup();
    await session.start();
    await settle();
    const fire = (kind: string, extra: object = {}) =>
        server.latest.events.fire({ runId: 'r1', kind, message: `${kind} message`, ...extra } as never);
    fire('started');
    fire('phase', { phase: 'testing', costUsd: 0.004 });
    assert.equal(api.statusItem.text, '$(loading~spin) Greenpatch: testing · $0.0040');
    assert.ok(api.logLines.includes('info [run r1] phase/testing: phase message [$0.0040]'));
    setProposal(proposal());
    api.messageAnswers.push('Review');
    fire('proposal', { costUsd: 0.0123 });
    await settle();
    assert.match(api.statusItem.text, /review/);
    const offer = api.messages.find((m) => m.actions.includes('Review'));
    assert.ok(offer);
    assert.match(offer.text, /"fix the failing test": 2 file\(s\), \$0\.0123\. 2 passed/);
    assert.equal(api.diffs.length, 2);
    setProposal(null);
    await api.run(Command.acceptProposal);
    const accepted = server.latest.calls.findIndex((c) => c.command === 'greenpatch.acceptProposal');
    assert.deepEqual(server.latest.calls[accepted].args, [{ runId: 'r1' }]);
    assert.deepEqual(api.closedSchemes, [PROPOSAL_SCHEME]);
    await settle();
    assert.ok(
        server.latest.calls.slice(accepted).some((c) => c.command === 'greenpatch.status'),
        'the status is asked for once the review ends',
    );
    assert.equal(api.statusItem.text, '$(check) Greenpatch');
    session.dispose();
});

test('a failed run offers the log', async () => {
    const { api, server, session } = setup();
    await session.start();
    api.messageAnswers.push('Show Log');
    server.latest.events.fire({ runId: 'r2', kind: 'failed', message: 'tests still red after 4 iterations' });
    await settle();
    assert.deepEqual(api.messages.at(-1), {
        level: 'warning',
        text: 'Greenpatch: the run failed: tests still red after 4 iterations',
        actions: ['Show Log'],
    });
    assert.ok(api.logLines.includes('(shown)'));
    session.dispose();
});

test('the status command asks the server and says what it does', async () => {
    const { api, server, session } = setup();
    await session.start();
    server.handlers.set('greenpatch.status', () => ({ state: 'running', phase: 'coding', costUsd: 0.5, runId: 'r3' }));
    await api.run(Command.status);
    assert.equal(api.messages.at(-1)?.text, 'Greenpatch: running (coding), $0.50');
    assert.equal(api.statusItem.command, Command.cancelRun);
    session.dispose();
});

test('a server that comes back idle closes a review the extension still showed', async () => {
    const { api, server, session, setProposal } = setup();
    setProposal(proposal());
    server.handlers.set('greenpatch.status', () => ({ state: 'review', runId: 'r1' }));
    await session.start();
    await settle();
    assert.equal(session.review.current?.runId, 'r1', 'a review open on the server is picked up');
    setProposal(null);
    server.handlers.set('greenpatch.status', () => ({ state: 'idle' }));
    await session.server.restart();
    await settle();
    assert.equal(session.review.current, undefined);
    assert.deepEqual(api.closedSchemes, [PROPOSAL_SCHEME]);
    session.dispose();
});
