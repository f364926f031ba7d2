// The real ServerConnection: a vscode-languageclient LanguageClient over the server's stdio.
// This module (with vscodeHost.ts and extension.ts) is the only one that loads VS Code at run
// time; the rest of common/ is tested in plain Node.
import {
    type ClientCapabilities,
    ExecuteCommandRequest,
    type FeatureState,
    LanguageClient,
    type LanguageClientOptions,
    type ServerOptions,
    type StaticFeature,
} from 'vscode-languageclient/node';
import type * as vscode from 'vscode';
import { CONFIG_SECTION, OUTPUT_NAME } from './constants';
import type { ServerLaunch } from './launch';
import { CLIENT_CAPABILITY, CLIENT_REVIEW_CAPABILITY, RUN_EVENT_METHOD, type RunEvent } from './protocol';
import type { ConnectionFactory, ServerConnection } from './server';
import { type ServerSettings, settingsSection } from './settings';

/** Python files on disk and in unsaved editors; the proposal documents are ours alone. */
const DOCUMENT_SELECTOR = [
    { scheme: 'file', language: 'python' },
    { scheme: 'untitled', language: 'python' },
];

/** Builds connections that log into `channel` (server stderr and, when enabled, the trace). */
export function languageClientFactory(channel: vscode.LogOutputChannel): ConnectionFactory {
    return (launch, settings) => new LanguageClientConnection(launch, settings, channel);
}

/**
 * Tells the server, in `capabilities.experimental.greenpatch`, that this client renders
 * proposals itself (diff editor, hunk lenses, notifications), so the server need not open its
 * generic review document or announce proposals with window/showMessage.
 */
class NativeReviewFeature implements StaticFeature {
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

class LanguageClientConnection implements ServerConnection {
    private readonly client: LanguageClient;

    constructor(launch: ServerLaunch, settings: () => ServerSettings, channel: vscode.LogOutputChannel) {
        // No `transport`: with TransportKind.stdio the client appends `--stdio` to the command
        // line, which `greenpatch lsp` does not take; an Executable talks over stdio anyway.
        const run = { command: launch.command, args: launch.args, options: { cwd: launch.cwd, env: launch.env } };
        const serverOptions: ServerOptions = { run, debug: run };
        const clientOptions: LanguageClientOptions = {
            documentSelector: DOCUMENT_SELECTOR,
            outputChannel: channel,
            traceOutputChannel: channel,
            // The server reads its settings object directly from initializationOptions, then
            // pulls workspace/configuration. No didChangeConfiguration: a settings change
            // restarts the server (settings.ts needsRestart), and that notification would carry
            // VS Code's raw section (empty model names included) instead of the mapped one.
            initializationOptions: settings(),
            middleware: {
                workspace: {
                    // Answer workspace/configuration with the mapped settings, so the server sees
                    // the same object as in initializationOptions (defaults filled, empties dropped).
                    configuration: async (params, token, next) => {
                        const raw = await next(params, token);
                        if (!Array.isArray(raw)) {
                            return raw;
                        }
                        const mapped = settings();
                        return params.items.map((item, i) => {
                            const ours = item.section ? settingsSection(mapped, item.section) : undefined;
                            return ours === undefined ? raw[i] : ours;
                        });
                    },
                },
            },
        };
        this.client = new LanguageClient(CONFIG_SECTION, OUTPUT_NAME, serverOptions, clientOptions);
        this.client.registerFeature(new NativeReviewFeature());
    }

    start(): Promise<void> {
        return this.client.start();
    }

    stop(): Promise<void> {
        return this.client.stop();
    }

    executeCommand(command: string, args: unknown[]): Promise<unknown> {
        return this.client.sendRequest(ExecuteCommandRequest.type, { command, arguments: args });
    }

    onRunEvent(handler: (event: RunEvent) => void): vscode.Disposable {
        return this.client.onNotification(RUN_EVENT_METHOD, (params: RunEvent) => handler(params));
    }
}
