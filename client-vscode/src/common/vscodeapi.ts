// The slice of the VS Code API the extension uses, as an interface. Everything in common/
// talks to VS Code only through it, and imports 'vscode' for types only, so unit tests run in
// plain Node with a fake (src/test/fakeApi.ts); the real implementation is vscodeHost.ts.
import type * as vscode from 'vscode';

export interface Disposable {
    dispose(): unknown;
}

export interface EventEmitterLike<T> {
    readonly event: vscode.Event<T>;
    fire(value: T): void;
    dispose(): void;
}

/** The status bar item fields the extension sets. */
export interface StatusItem extends Disposable {
    text: string;
    tooltip: string | vscode.MarkdownString | undefined;
    command: string | vscode.Command | undefined;
    show(): void;
}

/** Where the cursor is in the active editor, when it shows a file on disk. */
export interface EditorLocation {
    uri: string;
    line: number;
}

/** The parts of the Python extension's exported API used for interpreter discovery. */
export interface PythonExtensionApi {
    environments: {
        getActiveEnvironmentPath(resource?: vscode.Uri): { path: string };
        resolveEnvironment(
            env: { path: string } | string,
        ): Promise<{ executable: { uri: vscode.Uri | undefined } } | undefined>;
        onDidChangeActiveEnvironmentPath: vscode.Event<unknown>;
    };
}

export interface VsCodeApi {
    // workspace
    getConfiguration(section: string, scope?: vscode.Uri): vscode.WorkspaceConfiguration;
    onDidChangeConfiguration(listener: (e: vscode.ConfigurationChangeEvent) => void): Disposable;
    workspaceFolders(): readonly vscode.WorkspaceFolder[];
    isTrusted(): boolean;
    onDidGrantWorkspaceTrust(listener: () => void): Disposable;
    registerTextDocumentContentProvider(scheme: string, provider: vscode.TextDocumentContentProvider): Disposable;
    registerCodeLensProvider(scheme: string, provider: vscode.CodeLensProvider): Disposable;
    openUntitled(content: string, language: string): Promise<void>;
    showDocument(uri: vscode.Uri): Promise<void>;
    /** The URIs (as strings) of open documents with unsaved changes. */
    dirtyDocuments(): string[];
    /** Saves those of `uris` that are open and dirty. */
    saveDocuments(uris: string[]): Promise<void>;
    // window
    showInputBox(options: vscode.InputBoxOptions): Promise<string | undefined>;
    showQuickPick<T extends vscode.QuickPickItem>(items: T[], options: vscode.QuickPickOptions): Promise<T | undefined>;
    showInformationMessage(message: string, ...actions: string[]): Promise<string | undefined>;
    showWarningMessage(message: string, ...actions: string[]): Promise<string | undefined>;
    showErrorMessage(message: string, ...actions: string[]): Promise<string | undefined>;
    createStatusBarItem(id: string): StatusItem;
    createLogOutputChannel(name: string): vscode.LogOutputChannel;
    activeEditorLocation(): EditorLocation | undefined;
    // commands
    registerCommand(id: string, handler: (...args: unknown[]) => unknown): Disposable;
    setContext(key: string, value: unknown): Promise<void>;
    openDiff(left: vscode.Uri, right: vscode.Uri, title: string, preview: boolean): Promise<void>;
    closeTabsOfScheme(scheme: string): Promise<void>;
    // values
    parseUri(value: string): vscode.Uri;
    fileUri(fsPath: string): vscode.Uri;
    makeUri(parts: { scheme: string; path: string; query?: string }): vscode.Uri;
    newEventEmitter<T>(): EventEmitterLike<T>;
    newCodeLens(line: number, command: vscode.Command): vscode.CodeLens;
    // extensions
    pythonExtension(): Promise<PythonExtensionApi | undefined>;
}
