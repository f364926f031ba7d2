import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Logger } from '../common/logging';
import { ServerCommandError, ServerManager, ServerNotRunningError, type ServerLifecycle } from '../common/server';
import { toServerSettings } from '../common/settings';
import { FakeApi, FakeServer } from './fakes';

function setup() {
    const api = new FakeApi();
    const server = new FakeServer();
    const logged: string[] = [];
    const log: Logger = {
        debug: (m) => logged.push(m),
        info: (m) => logged.push(m),
        warn: (m) => logged.push(m),
        error: (m) => logged.push(m),
    };
    let launches = 0;
    const manager = new ServerManager({
        api,
        log,
        factory: server.factory,
        launch: async () => {
            launches++;
            return { command: 'python3', args: ['-m', 'greenpatch.cli', 'lsp'], cwd: '/ws', env: {}, describe: 'test' };
        },
        settings: () => toServerSettings(api.getConfiguration('greenpatch')),
    });
    const lifecycles: ServerLifecycle[] = [];
    manager.onLifecycle((l) => lifecycles.push(l));
    return { api, server, manager, logged, lifecycles, launches: () => launches };
}

test('restart starts a server and stops the previous one', async () => {
    const { server, manager, lifecycles } = setup();
    await manager.restart();
    await manager.restart();
    assert.equal(server.connections.length, 2);
    assert.equal(server.connections[0].stopped, true);
    assert.equal(server.latest.started, true);
    assert.equal(server.latest.stopped, false);
    assert.equal(manager.lifecycle, 'running');
    assert.deepEqual(lifecycles, ['starting', 'running', 'stopped', 'starting', 'running']);
});

test('a burst of restarts is merged into one more restart', async () => {
    const { server, manager } = setup();
    await Promise.all([manager.restart(), manager.restart(), manager.restart(), manager.restart(), manager.restart()]);
    assert.equal(server.connections.length, 2, 'one in flight, one merged for the rest');
    assert.equal(server.connections.filter((c) => !c.stopped).length, 1);
    await manager.restart();
    assert.equal(server.connections.length, 3, 'a later restart is not swallowed');
});

test('an untrusted workspace starts nothing until trust is granted', async () => {
    const { api, server, manager } = setup();
    api.trusted = false;
    await manager.restart();
    assert.equal(server.connections.length, 0);
    assert.equal(manager.lifecycle, 'untrusted');
    await assert.rejects(manager.executeCommand('greenpatch.status', []), ServerNotRunningError);
    api.trusted = true;
    await manager.restart();
    assert.equal(manager.lifecycle, 'running');
});

test('a server that fails to start is reported, and commands say it is not running', async () => {
    const { api, server, manager, logged } = setup();
    server.failStart = true;
    await manager.restart();
    assert.equal(manager.lifecycle, 'failed');
    assert.match(api.messages[0].text, /failed to start: spawn python3 ENOENT/);
    assert.ok(logged.some((l) => l.includes('failed to start')));
    await assert.rejects(manager.executeCommand('greenpatch.status', []), ServerNotRunningError);
});

test('commands wait for a restart under way, then go to the new server', async () => {
    const { server, manager } = setup();
    server.handlers.set('greenpatch.status', () => ({ state: 'idle' }));
    const restarting = manager.restart();
    const reply = await manager.executeCommand('greenpatch.status', []);
    await restarting;
    assert.deepEqual(reply, { state: 'idle' });
    assert.deepEqual(server.latest.calls, [{ command: 'greenpatch.status', args: [] }]);
});

test('run events of the running server reach listeners; an old server is not heard', async () => {
    const { server, manager } = setup();
    const seen: string[] = [];
    manager.onRunEvent((e) => seen.push(`${e.runId}:${e.kind}`));
    await manager.restart();
    const first = server.latest;
    first.events.fire({ runId: 'a', kind: 'started', message: '' });
    await manager.restart();
    first.events.fire({ runId: 'old', kind: 'phase', message: '' });
    server.latest.events.fire({ runId: 'b', kind: 'proposal', message: '' });
    assert.deepEqual(seen, ['a:started', 'b:proposal']);
});

test('the settings handed to the connection follow the current configuration', async () => {
    const { api, server, manager } = setup();
    await manager.restart();
    api.settings.set('greenpatch.models.default', 'scripted/x.json');
    assert.equal(server.latest.settings().models.default, 'scripted/x.json');
});

test('an {error} reply from the server becomes a ServerCommandError', async () => {
    const { server, manager } = setup();
    server.handlers.set('greenpatch.acceptProposal', () => ({ error: 'there is no proposal to review' }));
    await manager.restart();
    await assert.rejects(manager.executeCommand('greenpatch.acceptProposal', [{}]), (err: unknown) => {
        assert.ok(err instanceof ServerCommandError);
        assert.equal(err.message, 'there is no proposal to review');
        return true;
    });
});
