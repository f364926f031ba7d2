// The real ServerConnection: a vscode-languageclient LanguageClient over the server's stdio.
// This module (with vscodeHost.ts and extension.ts) is the only one that loads VS Code at run
// time; the rest of common/ is tested in plain Node.
import {
    ExecuteCommandRequest,
    LanguageClient,
    type LanguageClientOptions,
    type ServerOptions,
} from 'vscode-languageclient/node';
import type * as vscode from 'vscode';
import { CONFIG_SECTION, OUTPUT_NAME } from './constants';
import type { ServerLaunch } from './launch';
import { answerConfiguration, NativeReviewFeature } from './clientParts';
import { RUN_EVENT_METHOD, type RunEvent } from './protocol';
import type { ConnectionFactory, ServerConnection } from './server';
import type { ServerSettings } from './settings';

/** Python files on disk and in unsaved editors; the proposal documents are ours alone. */
const DOCUMENT_SELECTOR = [
    { scheme: 'file', language: 'python' },
    { scheme: 'untitled', language: 'python' },
];

/** Builds connections that log into `channel` (server stderr and, when enabled, the trace). */
export function languageClientFactory(channel: vscode.LogOutputChannel): ConnectionFactory {
    return (launch, settings) => new LanguageClientConnection(launch, settings, channel);
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
                    configuration: async (params, token, next) => {
                        const raw = await next(params, token);
                        return Array.isArray(raw) ? answerConfiguration(params.items, raw, settings()) : raw;
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
