import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import { Command } from '../common/constants';
import type { RunEvent, ServerStatus } from '../common/protocol';
import { applyRunEvent, formatCost, StatusController, statusView } from '../common/status';
import { FakeApi } from './fakes';

test('costs keep four decimals under ten cents', () => {
    assert.equal(formatCost(0.0042), '$0.0042');
    assert.equal(formatCost(1.254), '$1.25');
});

test('each server state has its own text and click action', () => {
    const running = (s: ServerStatus) => statusView('running', s);
    assert.deepEqual(
        [running({ state: 'idle' }).text, running({ state: 'idle' }).command],
        ['$(check) Greenpatch', Command.runTask],
    );
    assert.equal(running({ state: 'indexing' }).text, '$(loading~spin) Greenpatch: indexing');
    const r = running({ state: 'running', phase: 'testing', costUsd: 0.0123, runId: 'r9' });
    assert.equal(r.text, '$(loading~spin) Greenpatch: testing · $0.0123');
    assert.equal(r.tooltip, 'Run r9 is testing. Click to cancel.');
    assert.equal(r.command, Command.cancelRun);
    const review = running({ state: 'review', costUsd: 0.5 });
    assert.deepEqual([review.text, review.command], ['$(diff) Greenpatch: review · $0.50', Command.showProposal]);
    assert.equal(statusView('failed', { state: 'idle' }).command, Command.showLogs);
    assert.equal(statusView('stopped', { state: 'idle' }).command, Command.restart);
    assert.match(statusView('untrusted', { state: 'idle' }).text, /restricted/);
});

test('run events move the status through a run', () => {
    const ev = (kind: RunEvent['kind'], extra: Partial<RunEvent> = {}): RunEvent => ({
        runId: 'r1',
        kind,
        message: '',
        ...extra,
    });
    let s: ServerStatus = { state: 'idle' };
    s = applyRunEvent(s, ev('started'));
    assert.deepEqual(s, { state: 'running', phase: 'planning', costUsd: undefined, runId: 'r1' });
    s = applyRunEvent(s, ev('phase', { phase: 'coding', costUsd: 0.01 }));
    s = applyRunEvent(s, ev('tests'));
    assert.deepEqual(s, { state: 'running', phase: 'coding', costUsd: 0.01, runId: 'r1' });
    s = applyRunEvent(s, ev('proposal', { costUsd: 0.02 }));
    assert.deepEqual(s, { state: 'review', costUsd: 0.02, runId: 'r1' });
    assert.deepEqual(applyRunEvent(s, ev('applied')), { state: 'idle' });
    assert.deepEqual(applyRunEvent(s, ev('cancelled')), { state: 'idle' });
});

test('the controller renders into the status bar item', () => {
    const api = new FakeApi();
    const status = new StatusController(api.statusItem);
    assert.match(api.statusItem.text, /circle-slash/);
    status.setLifecycle('running');
    status.onRunEvent({ runId: 'r1', kind: 'phase', phase: 'debugging', costUsd: 0.2, message: '' });
    assert.equal(api.statusItem.text, '$(loading~spin) Greenpatch: debugging · $0.20');
    assert.equal(api.statusItem.command, Command.cancelRun);
});
