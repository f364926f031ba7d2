// The parts of the language client that decide something, kept free of a run-time dependency
// on vscode-languageclient (types only) so they are unit-tested in plain Node; client.ts
// plugs them into the LanguageClient.
import type { ClientCapabilities, ConfigurationItem, FeatureState, StaticFeature } from 'vscode-languageclient';
import { CLIENT_CAPABILITY, CLIENT_REVIEW_CAPABILITY } from './protocol';
import { type ServerSettings, settingsSection } from './settings';

/**
 * The answer to workspace/configuration: our sections from the mapped settings (so the server
 * sees the object it got in initializationOptions: defaults filled, empty model names dropped),
 * every other section as VS Code answered it.
 */
export function answerConfiguration(items: ConfigurationItem[], raw: unknown[], settings: ServerSettings): unknown[] {
    return items.map((item, i) => {
        const ours = item.section ? settingsSection(settings, item.section) : undefined;
        return ours === undefined ? raw[i] : ours;
    });
}

/**
 * Tells the server, in `capabilities.experimental.greenpatch`, that this client renders
 * proposals itself (diff editor, hunk lenses, notifications), so the server need not open its
 * generic review document or announce proposals with window/showMessage.
 */
export class NativeReviewFeature implements StaticFeature {
    fillClientCapabilities(capabilities: ClientCapabilities): void {
        const experimental = (capabilities.experimental ?? {}) as Record<string, unknown>;
        capabilities.experimental = { ...experimental, [CLIENT_CAPABILITY]: CLIENT_REVIEW_CAPABILITY };
    }

    initialize(): void {}

    getState(): FeatureState {
        return { kind: 'static' };
    }

    clear(): void {}
}
