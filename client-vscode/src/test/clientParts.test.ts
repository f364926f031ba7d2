import * as assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ClientCapabilities } from 'vscode-languageclient';
import { answerConfiguration, NativeReviewFeature } from '../common/clientParts';
import { toServerSettings } from '../common/settings';
import { FakeApi } from './fakes';

test('workspace/configuration: our sections mapped, other sections as VS Code answered', () => {
    const api = new FakeApi();
    api.settings.set('greenpatch.models.default', 'scripted/fix.json');
    api.settings.set('greenpatch.models.coder', '');
    const settings = toServerSettings(api.getConfiguration('greenpatch'));
    const raw = [
        { models: { default: 'scripted/fix.json', coder: '' } },
        { indentSize: 4 },
        'raw-models',
        'no-section',
    ];
    const answer = answerConfiguration(
        [{ section: 'greenpatch' }, { section: 'editor' }, { section: 'greenpatch.models' }, {}],
        raw,
        settings,
    );
    assert.deepEqual(answer, [settings, { indentSize: 4 }, settings.models, 'no-section']);
    assert.equal((answer[0] as typeof settings).models.coder, undefined, 'an empty model name is not sent');
});

test('the client capability tells the server this client reviews natively', () => {
    const capabilities: ClientCapabilities = { experimental: { other: 1 } };
    const feature = new NativeReviewFeature();
    feature.fillClientCapabilities(capabilities);
    assert.deepEqual(capabilities.experimental, { other: 1, greenpatch: { nativeReview: true } });
    assert.deepEqual(feature.getState(), { kind: 'static' });
});
