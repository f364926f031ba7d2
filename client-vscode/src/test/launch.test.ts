import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { NoInterpreterError, resolveLaunch } from '../common/launch';
import { findInterpreter, fromPythonExtension, whichOnPath } from '../common/python';
import type { PythonExtensionApi } from '../common/vscodeapi';
import { Emitter, FakeApi } from './fakes';

const never = async () => {
    throw new Error('the interpreter chain must not be consulted');
};

test('serverPath starts `<serverPath> lsp` without looking for a Python', async () => {
    const launch = await resolveLaunch(
        { interpreter: '/ignored', serverPath: '/opt/gp/bin/greenpatch' },
        never,
        '/ws',
        {
            HOME: '/root',
        },
    );
    assert.equal(launch.command, '/opt/gp/bin/greenpatch');
    assert.deepEqual(launch.args, ['lsp']);
    assert.equal(launch.cwd, '/ws');
    assert.deepEqual(launch.env, { HOME: '/root', PYTHONUNBUFFERED: '1' });
});

test('otherwise `<python> -m greenpatch.cli lsp` with the interpreter found', async () => {
    const launch = await resolveLaunch(
        { interpreter: '', serverPath: '' },
        async () => ({ path: '/venv/bin/python', source: 'python-extension' }),
        undefined,
        {},
    );
    assert.equal(launch.command, '/venv/bin/python');
    assert.deepEqual(launch.args, ['-m', 'greenpatch.cli', 'lsp']);
    assert.match(launch.describe, /python-extension/);
});

test('no Python anywhere is a clear error', async () => {
    await assert.rejects(
        resolveLaunch({ interpreter: '', serverPath: '' }, async () => undefined, undefined, {}),
        NoInterpreterError,
    );
});

test('the interpreter chain: setting, then the Python extension, then PATH', async () => {
    const ext = async () => '/ext/python';
    const which = (c: string) => (c === 'python3' ? '/usr/bin/python3' : undefined);
    assert.deepEqual(await findInterpreter({ setting: '/set/python', pythonExtension: ext, which }), {
        path: '/set/python',
        source: 'setting',
    });
    assert.deepEqual(await findInterpreter({ setting: '', pythonExtension: ext, which }), {
        path: '/ext/python',
        source: 'python-extension',
    });
    const broken = async () => {
        throw new Error('python extension crashed');
    };
    assert.deepEqual(await findInterpreter({ setting: '', pythonExtension: broken, which }), {
        path: '/usr/bin/python3',
        source: 'path',
    });
    assert.equal(
        await findInterpreter({ setting: '', pythonExtension: async () => undefined, which: () => undefined }),
        undefined,
    );
});

test('the Python extension API is asked for the active environment of the workspace', async () => {
    const api = new FakeApi();
    const asked: unknown[] = [];
    const python: PythonExtensionApi = {
        environments: {
            getActiveEnvironmentPath: (resource) => {
                asked.push(resource?.toString());
                return { path: '/envs/a' };
            },
            resolveEnvironment: async (env) => {
                asked.push(env);
                return { executable: { uri: api.fileUri('/envs/a/bin/python') } };
            },
            onDidChangeActiveEnvironmentPath: new Emitter<unknown>().event,
        },
    };
    assert.equal(await fromPythonExtension(python, api.fileUri('/ws')), '/envs/a/bin/python');
    assert.deepEqual(asked, ['file:///ws', { path: '/envs/a' }]);
    assert.equal(await fromPythonExtension(undefined, undefined), undefined);
});

test('whichOnPath finds executables only', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'gp-which-'));
    try {
        const exe = path.join(dir, 'python3');
        fs.writeFileSync(exe, '#!/bin/sh\n', { mode: 0o755 });
        fs.writeFileSync(path.join(dir, 'python'), 'not executable', { mode: 0o644 });
        fs.mkdirSync(path.join(dir, 'greenpatch'));
        const envPath = ['', '/nonexistent', dir].join(path.delimiter);
        assert.equal(whichOnPath('python3', envPath), exe);
        assert.equal(whichOnPath('python', envPath), undefined);
        assert.equal(whichOnPath('greenpatch', envPath), undefined);
    } finally {
        fs.rmSync(dir, { recursive: true, force: true });
    }
});
