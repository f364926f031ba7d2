// Test doubles: a VsCodeApi that records what the extension did and answers prompts from
// queues, and a ServerConnection that answers commands from a table. No VS Code needed.
import type * as vscode from 'vscode';
import { URI } from 'vscode-uri';
import type { ServerLaunch } from '../common/launch';
import type { RunEvent } from '../common/protocol';
import type { ConnectionFactory, ServerConnection } from '../common/server';
import type { ServerSettings } from '../common/settings';
import type {
    Disposable,
    EditorLocation,
    EventEmitterLike,
    PythonExtensionApi,
    StatusItem,
    VsCodeApi,
} from '../common/vscodeapi';

export class Emitter<T> implements EventEmitterLike<T> {
    private listeners: ((value: T) => unknown)[] = [];

    readonly event: vscode.Event<T> = (listener) => {
        this.listeners.push(listener);
        return { dispose: () => (this.listeners = this.listeners.filter((l) => l !== listener)) };
    };

    fire(value: T): void {
        for (const l of [...this.listeners]) {
            l(value);
        }
    }

    dispose(): void {
        this.listeners = [];
    }
}

export interface Message {
    level: 'info' | 'warning' | 'error';
    text: string;
    actions: string[];
}

export interface DiffOpened {
    left: string;
    right: string;
    title: string;
}

/** A quick pick answer: chooses an item from what was offered (undefined: Escape). */
export type Picker = (items: vscode.QuickPickItem[]) => vscode.QuickPickItem | undefined;

export class FakeApi implements VsCodeApi {
    settings = new Map<string, unknown>();
    trusted = true;
    folders: vscode.WorkspaceFolder[] = [];
    inputAnswers: (string | undefined)[] = [];
    inputPrompts: vscode.InputBoxOptions[] = [];
    pickAnswers: Picker[] = [];
    offeredPicks: vscode.QuickPickItem[][] = [];
    messageAnswers: (string | undefined)[] = [];
    messages: Message[] = [];
    logLines: string[] = [];
    commands = new Map<string, (...args: unknown[]) => unknown>();
    context = new Map<string, unknown>();
    diffs: DiffOpened[] = [];
    closedSchemes: string[] = [];
    untitled: { content: string; language: string }[] = [];
    shownDocuments: string[] = [];
    /** Open documents with unsaved changes (URI strings); saveDocuments moves them to `saved`. */
    dirty = new Set<string>();
    saved: string[] = [];
    contentProviders = new Map<string, vscode.TextDocumentContentProvider>();
    lensProviders = new Map<string, vscode.CodeLensProvider>();
    editor: EditorLocation | undefined;
    python: PythonExtensionApi | undefined;
    statusItem: StatusItem = {
        text: '',
        tooltip: undefined,
        command: undefined,
        show: () => undefined,
        dispose: () => undefined,
    };
    readonly configChanges = new Emitter<vscode.ConfigurationChangeEvent>();
    readonly trustGranted = new Emitter<void>();

    /** Simulates the user changing settings: `keys` are full keys like greenpatch.models.default. */
    changeSettings(values: Record<string, unknown>): void {
        for (const [key, value] of Object.entries(values)) {
            this.settings.set(key, value);
        }
        const keys = Object.keys(values);
        this.configChanges.fire({
            affectsConfiguration: (section: string) => keys.some((k) => k === section || k.startsWith(`${section}.`)),
        });
    }

    /** Runs a registered command the way the palette would. */
    async run(id: string, ...args: unknown[]): Promise<unknown> {
        const handler = this.commands.get(id);
        if (handler === undefined) {
            throw new Error(`command ${id} is not registered`);
        }
        return handler(...args);
    }

    getConfiguration(section: string): vscode.WorkspaceConfiguration {
        const get = (key: string, fallback?: unknown) => {
            const full = `${section}.${key}`;
            return this.settings.has(full) ? this.settings.get(full) : fallback;
        };
        return {
            get,
            has: (key: string) => this.settings.has(`${section}.${key}`),
        } as unknown as vscode.WorkspaceConfiguration;
    }

    onDidChangeConfiguration(listener: (e: vscode.ConfigurationChangeEvent) => void): Disposable {
        return this.configChanges.event(listener);
    }

    workspaceFolders(): readonly vscode.WorkspaceFolder[] {
        return this.folders;
    }

    isTrusted(): boolean {
        return this.trusted;
    }

    onDidGrantWorkspaceTrust(listener: () => void): Disposable {
        return this.trustGranted.event(listener);
    }

    registerTextDocumentContentProvider(scheme: string, provider: vscode.TextDocumentContentProvider): Disposable {
        this.contentProviders.set(scheme, provider);
        return { dispose: () => this.contentProviders.delete(scheme) };
    }

    registerCodeLensProvider(scheme: string, provider: vscode.CodeLensProvider): Disposable {
        this.lensProviders.set(scheme, provider);
        return { dispose: () => this.lensProviders.delete(scheme) };
    }

    async openUntitled(content: string, language: string): Promise<void> {
        this.untitled.push({ content, language });
    }

    async showDocument(uri: vscode.Uri): Promise<void> {
        this.shownDocuments.push(uri.toString());
    }

    dirtyDocuments(): string[] {
        return [...this.dirty];
    }

    async saveDocuments(uris: string[]): Promise<void> {
        for (const uri of uris) {
            if (this.dirty.delete(uri)) {
                this.saved.push(uri);
            }
        }
    }

    async showInputBox(options: vscode.InputBoxOptions): Promise<string | undefined> {
        this.inputPrompts.push(options);
        if (this.inputAnswers.length === 0) {
            throw new Error(`unexpected input box: ${options.title ?? options.prompt}`);
        }
        return this.inputAnswers.shift();
    }

    async showQuickPick<T extends vscode.QuickPickItem>(items: T[]): Promise<T | undefined> {
        this.offeredPicks.push(items);
        const picker = this.pickAnswers.shift();
        if (picker === undefined) {
            throw new Error(`unexpected quick pick: ${items.map((i) => i.label).join(', ')}`);
        }
        return picker(items) as T | undefined;
    }

    private message(level: Message['level'], text: string, actions: string[]): Promise<string | undefined> {
        this.messages.push({ level, text, actions });
        return Promise.resolve(actions.length > 0 ? this.messageAnswers.shift() : undefined);
    }

    showInformationMessage(text: string, ...actions: string[]): Promise<string | undefined> {
        return this.message('info', text, actions);
    }

    showWarningMessage(text: string, ...actions: string[]): Promise<string | undefined> {
        return this.message('warning', text, actions);
    }

    showErrorMessage(text: string, ...actions: string[]): Promise<string | undefined> {
        return this.message('error', text, actions);
    }

    createStatusBarItem(): StatusItem {
        return this.statusItem;
    }

    createLogOutputChannel(): vscode.LogOutputChannel {
        const line = (level: string) => (message: string) => this.logLines.push(`${level} ${message}`);
        return {
            trace: line('trace'),
            debug: line('debug'),
            info: line('info'),
            warn: line('warn'),
            error: (m: string | Error) => this.logLines.push(`error ${String(m)}`),
            show: () => this.logLines.push('(shown)'),
            dispose: () => undefined,
        } as unknown as vscode.LogOutputChannel;
    }

    activeEditorLocation(): EditorLocation | undefined {
        return this.editor;
    }

    registerCommand(id: string, handler: (...args: unknown[]) => unknown): Disposable {
        if (this.commands.has(id)) {
            throw new Error(`command ${id} registered twice`);
        }
        this.commands.set(id, handler);
        return { dispose: () => this.commands.delete(id) };
    }

    async setContext(key: string, value: unknown): Promise<void> {
        this.context.set(key, value);
    }

    async openDiff(left: vscode.Uri, right: vscode.Uri, title: string): Promise<void> {
        this.diffs.push({ left: left.toString(), right: right.toString(), title });
    }

    async closeTabsOfScheme(scheme: string): Promise<void> {
        this.closedSchemes.push(scheme);
    }

    parseUri(value: string): vscode.Uri {
        return URI.parse(value, true) as unknown as vscode.Uri;
    }

    fileUri(fsPath: string): vscode.Uri {
        return URI.file(fsPath) as unknown as vscode.Uri;
    }

    makeUri(parts: { scheme: string; path: string; query?: string }): vscode.Uri {
        return URI.from(parts) as unknown as vscode.Uri;
    }

    newEventEmitter<T>(): EventEmitterLike<T> {
        return new Emitter<T>();
    }

    newCodeLens(line: number, command: vscode.Command): vscode.CodeLens {
        return { range: { start: { line } }, command, isResolved: true } as unknown as vscode.CodeLens;
    }

    async pythonExtension(): Promise<PythonExtensionApi | undefined> {
        return this.python;
    }
}

export type CommandHandler = (args: unknown[]) => unknown;

/** A server that answers commands from `handlers` and records every call. */
export class FakeConnection implements ServerConnection {
    calls: { command: string; args: unknown[] }[] = [];
    started = false;
    stopped = false;
    readonly events = new Emitter<RunEvent>();

    constructor(
        readonly launch: ServerLaunch,
        readonly settings: () => ServerSettings,
        private readonly handlers: Map<string, CommandHandler>,
        private readonly failStart: boolean,
    ) {}

    async start(): Promise<void> {
        // Yield, as a real process start would, so overlapping restarts really overlap.
        await new Promise((resolve) => setImmediate(resolve));
        if (this.failStart) {
            throw new Error('spawn python3 ENOENT');
        }
        this.started = true;
    }

    async stop(): Promise<void> {
        this.stopped = true;
    }

    async executeCommand(command: string, args: unknown[]): Promise<unknown> {
        this.calls.push({ command, args });
        const handler = this.handlers.get(command);
        return handler === undefined ? null : handler(args);
    }

    onRunEvent(handler: (event: RunEvent) => void): Disposable {
        return this.events.event(handler);
    }
}

/** Makes FakeConnections and keeps them, newest last. */
export class FakeServer {
    connections: FakeConnection[] = [];
    handlers = new Map<string, CommandHandler>();
    failStart = false;

    readonly factory: ConnectionFactory = (launch, settings) => {
        const c = new FakeConnection(launch, settings, this.handlers, this.failStart);
        this.connections.push(c);
        return c;
    };

    get latest(): FakeConnection {
        const c = this.connections.at(-1);
        if (c === undefined) {
            throw new Error('no server was started');
        }
        return c;
    }

    /** Every command sent to any server, in order. */
    get calls(): { command: string; args: unknown[] }[] {
        return this.connections.flatMap((c) => c.calls);
    }
}

/** Lets pending promise callbacks run. */
export async function settle(): Promise<void> {
    for (let i = 0; i < 5; i++) {
        await new Promise((resolve) => setImmediate(resolve));
    }
}
