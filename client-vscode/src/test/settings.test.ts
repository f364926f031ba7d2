import * as assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { test } from 'node:test';
import { needsRestart, settingsSection, toExtensionSettings, toServerSettings } from '../common/settings';
import { FakeApi } from './fakes';

const config = (values: Record<string, unknown>) => {
    const api = new FakeApi();
    for (const [k, v] of Object.entries(values)) {
        api.settings.set(`greenpatch.${k}`, v);
    }
    return api.getConfiguration('greenpatch');
};

test('defaults map to the server defaults, empty model names left out', () => {
    assert.deepEqual(toServerSettings(config({})), {
        models: { fallbacks: [], editFormat: 'auto' },
        budget: { usd: 1.0, tokens: 400000 },
        maxIterations: 4,
        approval: 'review',
        sandbox: { backend: 'auto', timeoutS: 120, dockerImage: 'python:3.11-slim' },
        index: { enabled: true, chromaUrl: '', maxVectors: 100000 },
        logLevel: 'info',
    });
});

test('flat VS Code keys become the nested camelCase object', () => {
    const s = toServerSettings(
        config({
            'models.default': 'scripted/fix.json',
            'models.coder': ' openai/gpt-4o-mini ',
            'models.planner': '',
            'models.embedding': 'local/minilm',
            'models.fallbacks': ['ollama/qwen', '', 3],
            'models.editFormat': 'search_replace',
            'budget.usd': 0.25,
            'budget.tokens': 1000,
            maxIterations: 2,
            approval: 'auto',
            'sandbox.backend': 'docker',
            'sandbox.timeoutS': 30,
            'sandbox.dockerImage': 'python:3.12',
            'index.enabled': false,
            'index.chromaUrl': 'http://chroma:8000',
            'index.maxVectors': 0,
            logLevel: 'debug',
        }),
    );
    assert.deepEqual(s.models, {
        default: 'scripted/fix.json',
        coder: 'openai/gpt-4o-mini',
        embedding: 'local/minilm',
        fallbacks: ['ollama/qwen'],
        editFormat: 'search_replace',
    });
    assert.deepEqual(s.budget, { usd: 0.25, tokens: 1000 });
    assert.equal(s.maxIterations, 2);
    assert.equal(s.approval, 'auto');
    assert.deepEqual(s.sandbox, { backend: 'docker', timeoutS: 30, dockerImage: 'python:3.12' });
    assert.deepEqual(s.index, { enabled: false, chromaUrl: 'http://chroma:8000', maxVectors: 0 });
    assert.equal(s.logLevel, 'debug');
});

test('values of the wrong type or outside the enum fall back to the defaults', () => {
    const s = toServerSettings(
        config({ 'budget.usd': 'lots', approval: 'sometimes', 'sandbox.backend': 'vm', maxIterations: Number.NaN }),
    );
    assert.equal(s.budget.usd, 1.0);
    assert.equal(s.approval, 'review');
    assert.equal(s.sandbox.backend, 'auto');
    assert.equal(s.maxIterations, 4);
});

test('extension-only settings are read and trimmed', () => {
    assert.deepEqual(toExtensionSettings(config({ interpreter: ' /venv/bin/python ', serverPath: '' })), {
        interpreter: '/venv/bin/python',
        serverPath: '',
    });
});

test('workspace/configuration sections resolve inside the settings', () => {
    const s = toServerSettings(config({ 'models.default': 'm' }));
    assert.equal(settingsSection(s, 'greenpatch'), s);
    assert.deepEqual(settingsSection(s, 'greenpatch.models'), s.models);
    assert.equal(settingsSection(s, 'greenpatch.sandbox.timeoutS'), 120);
    assert.equal(settingsSection(s, 'greenpatch.nope'), null);
    assert.equal(settingsSection(s, 'python'), undefined);
});

test('a server setting change restarts, a trace change does not', () => {
    const event = (...keys: string[]) => ({
        affectsConfiguration: (s: string) => keys.some((k) => k === s || k.startsWith(`${s}.`)),
    });
    assert.equal(needsRestart(event('greenpatch.models.default')), true);
    assert.equal(needsRestart(event('greenpatch.sandbox.timeoutS')), true);
    assert.equal(needsRestart(event('greenpatch.interpreter')), true);
    assert.equal(needsRestart(event('greenpatch.trace.server')), false);
    assert.equal(needsRestart(event('python.defaultInterpreterPath')), false);
});

test('package.json contributes exactly the settings the extension maps', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(__dirname, '..', '..', 'package.json'), 'utf8'));
    const contributed = Object.keys(pkg.contributes.configuration.properties).sort();
    const flatten = (obj: object, prefix: string): string[] =>
        Object.entries(obj).flatMap(([k, v]) =>
            typeof v === 'object' && v !== null && !Array.isArray(v) ? flatten(v, `${prefix}${k}.`) : [`${prefix}${k}`],
        );
    const everyModel = {
        default: 'a',
        planner: 'a',
        coder: 'a',
        tester: 'a',
        debugger: 'a',
        critic: 'a',
        embedding: 'a',
    };
    const api = new FakeApi();
    for (const [k, v] of Object.entries(everyModel)) {
        api.settings.set(`greenpatch.models.${k}`, v);
    }
    const mapped = flatten(toServerSettings(api.getConfiguration('greenpatch')), 'greenpatch.');
    const extensionOnly = ['greenpatch.interpreter', 'greenpatch.serverPath', 'greenpatch.trace.server'];
    assert.deepEqual(contributed, [...mapped, ...extensionOnly].sort());
    for (const [key, prop] of Object.entries<{ markdownDescription?: string; default?: unknown }>(
        pkg.contributes.configuration.properties,
    )) {
        assert.ok(prop.markdownDescription, `${key} has a description`);
        assert.ok('default' in prop, `${key} has a default`);
    }
});
