import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { commandHandlers, LOCAL_MODEL, modelChoices, registerCommands } from '../common/commands';
import { Command } from '../common/constants';
import type { Logger } from '../common/logging';
import { ServerCommand } from '../common/protocol';
import { ReviewController } from '../common/review';
import { ServerCommandError } from '../common/server';
import { FakeApi, type Picker } from './fakes';

const byLabel =
    (label: string): Picker =>
    (items) =>
        items.find((i) => i.label === label);

function setup(reply: (command: string, args: unknown[]) => unknown = () => null) {
    const api = new FakeApi();
    const sent: { command: string; args: unknown[] }[] = [];
    const errors: string[] = [];
    const log: Logger = { debug: () => {}, info: () => {}, warn: () => {}, error: (m) => errors.push(m) };
    const execute = async (command: string, args: unknown[]) => {
        sent.push({ command, args });
        return reply(command, args);
    };
    const review = new ReviewController(api, execute, log);
    let restarts = 0;
    registerCommands({
        api,
        log,
        execute,
        review,
        restart: async () => {
            restarts++;
        },
        showLogs: () => {},
        refreshStatus: async () => {},
    });
    return { api, sent, errors, restarts: () => restarts };
}

test('run task sends the task, the cursor and the picked model', async () => {
    const { api, sent } = setup();
    api.settings.set('greenpatch.models.coder', 'openai/gpt-4o-mini');
    api.editor = { uri: 'file:///ws/calc/ops.py', line: 4 };
    api.inputAnswers.push('  make mul multiply ');
    api.pickAnswers.push(byLabel('openai/gpt-4o-mini'));
    await api.run(Command.runTask);
    assert.deepEqual(sent, [
        {
            command: 'greenpatch.runTask',
            args: [{ task: 'make mul multiply', uri: 'file:///ws/calc/ops.py', line: 4, model: 'openai/gpt-4o-mini' }],
        },
    ]);
});

test('run task with the server default sends no model; without an editor no location', async () => {
    const { api, sent } = setup();
    api.inputAnswers.push('add a docstring');
    api.pickAnswers.push((items) => items[0]);
    await api.run(Command.runTask);
    assert.deepEqual(sent, [{ command: 'greenpatch.runTask', args: [{ task: 'add a docstring' }] }]);
});

test('Escape at the input box or the model pick sends nothing', async () => {
    const { api, sent } = setup();
    api.inputAnswers.push(undefined);
    await api.run(Command.runTask);
    api.inputAnswers.push('task');
    api.pickAnswers.push(() => undefined);
    await api.run(Command.runTask);
    assert.deepEqual(sent, []);
});

test('another model can be typed', async () => {
    const { api, sent } = setup();
    api.inputAnswers.push('task', 'ollama/qwen2.5-coder:7b');
    api.pickAnswers.push(byLabel('$(edit) Another model…'));
    await api.run(Command.runTask);
    assert.deepEqual(sent[0].args, [{ task: 'task', model: 'ollama/qwen2.5-coder:7b' }]);
});

test('the model pick lists configured models once, and the embedded model', () => {
    const api = new FakeApi();
    api.settings.set('greenpatch.models.default', 'a/x');
    api.settings.set('greenpatch.models.critic', 'a/x');
    api.settings.set('greenpatch.models.fallbacks', ['b/y']);
    const labels = modelChoices(api.getConfiguration('greenpatch')).map((i) => i.label);
    assert.deepEqual(labels, ['$(settings) Server default', 'a/x', 'b/y', LOCAL_MODEL, '$(edit) Another model…']);
});

test('the simple commands map one to one onto server commands', async () => {
    const { api, sent, restarts } = setup();
    const simple = [
        Command.fixFailingTests,
        Command.undoLastApply,
        Command.cancelRun,
        Command.reindex,
        Command.pauseIndexing,
        Command.resumeIndexing,
    ];
    for (const id of simple) {
        await api.run(id);
    }
    await api.run(Command.restart);
    assert.deepEqual(
        sent.map((s) => s.command),
        [
            'greenpatch.fixFailingTests',
            'greenpatch.undoLastApply',
            'greenpatch.cancelRun',
            'greenpatch.reindex',
            'greenpatch.pauseIndexing',
            'greenpatch.resumeIndexing',
        ],
    );
    assert.equal(restarts(), 1);
});

test('resume run lists the resumable runs and resumes the picked one with one more budget', async () => {
    const runs = [
        { runId: 'new1', task: 'Fix it\nmore', status: 'paused', costUsd: 0.5, tokens: 900, updatedAt: 'T2' },
        { runId: 'old1', task: 'Other', status: 'interrupted', costUsd: null, tokens: null, updatedAt: 'T1' },
    ];
    const { api, sent } = setup((command) => (command === 'greenpatch.listResumable' ? { runs } : { runId: 'old1' }));
    api.settings.set('greenpatch.budget.usd', 2);
    api.pickAnswers.push(byLabel('Other'));
    await api.run(Command.resumeRun);
    assert.deepEqual(
        api.offeredPicks[0].map((i) => [i.label, i.description]),
        [
            ['Fix it', 'paused, spent $0.5000 and 900 tokens'],
            ['Other', 'interrupted, spent $0.0000 and 0 tokens'],
        ],
    );
    assert.deepEqual(sent[1], {
        command: 'greenpatch.resumeRun',
        args: [{ runId: 'old1', budgetUsd: 2, budgetTokens: 400000 }],
    });
});

test('resume run with nothing to resume says so; Escape sends nothing', async () => {
    const { api, sent } = setup(() => ({ runs: [] }));
    await api.run(Command.resumeRun);
    assert.deepEqual(api.messages, [
        { level: 'info', text: 'Greenpatch: no paused or interrupted run to resume.', actions: [] },
    ]);
    const other = setup(() => ({ runs: [{ runId: 'a', task: 't', status: 'paused', updatedAt: '' }] }));
    other.api.pickAnswers.push(() => undefined);
    await other.api.run(Command.resumeRun);
    assert.deepEqual(
        [...sent, ...other.sent].map((s) => s.command),
        ['greenpatch.listResumable', 'greenpatch.listResumable'],
    );
});

test('the run log opens in an editor', async () => {
    const { api } = setup((command) =>
        command === 'greenpatch.showRunLog' ? { text: 'planner: ...\ncoder: ...' } : null,
    );
    await api.run(Command.showRunLog);
    assert.deepEqual(api.untitled, [{ content: 'planner: ...\ncoder: ...', language: 'log' }]);
});

test('a failing server command becomes an error message, not an exception', async () => {
    const { api, errors } = setup(() => {
        throw new Error('budget exhausted');
    });
    await api.run(Command.reindex);
    assert.deepEqual(api.messages, [{ level: 'error', text: 'Greenpatch: budget exhausted', actions: [] }]);
    assert.equal(errors.length, 1);
});

test('a refusal from the server is logged but not shown twice (the server showed it)', async () => {
    const { api, errors } = setup(() => {
        throw new ServerCommandError('greenpatch.cancelRun', 'no run is going');
    });
    await api.run(Command.cancelRun);
    assert.deepEqual(api.messages, []);
    assert.equal(errors.length, 1);
});

test('every command in package.json has a handler and every handler is contributed', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
    const contributed = pkg.contributes.commands.map((c: { command: string }) => c.command).sort();
    const { api } = setup();
    const handlers = Object.keys(
        commandHandlers({
            api,
            log: { debug() {}, info() {}, warn() {}, error() {} },
            execute: async () => null,
            review: new ReviewController(api, async () => null, { debug() {}, info() {}, warn() {}, error() {} }),
            restart: async () => {},
            showLogs: () => {},
            refreshStatus: async () => {},
        }),
    ).sort();
    assert.deepEqual(contributed, handlers);
    // vscode-languageclient registers the server's command ids itself; ours must differ.
    const serverIds: string[] = Object.values(ServerCommand);
    assert.deepEqual(
        contributed.filter((c: string) => serverIds.includes(c)),
        [],
    );
});
