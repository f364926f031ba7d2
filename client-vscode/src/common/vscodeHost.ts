// The real VsCodeApi: each member forwards to VS Code. Nothing here decides anything, so the
// code that does (everything else in common/) is tested against a fake of this interface.
import * as vscode from 'vscode';
import { PYTHON_EXTENSION_ID } from './constants';
import type { PythonExtensionApi, VsCodeApi } from './vscodeapi';

export function createVsCodeApi(): VsCodeApi {
    return {
        getConfiguration: (section, scope) => vscode.workspace.getConfiguration(section, scope),
        onDidChangeConfiguration: (listener) => vscode.workspace.onDidChangeConfiguration(listener),
        workspaceFolders: () => vscode.workspace.workspaceFolders ?? [],
        isTrusted: () => vscode.workspace.isTrusted,
        onDidGrantWorkspaceTrust: (listener) => vscode.workspace.onDidGrantWorkspaceTrust(listener),
        registerTextDocumentContentProvider: (scheme, provider) =>
            vscode.workspace.registerTextDocumentContentProvider(scheme, provider),
        registerCodeLensProvider: (scheme, provider) => vscode.languages.registerCodeLensProvider({ scheme }, provider),
        openUntitled: async (content, language) => {
            const doc = await vscode.workspace.openTextDocument({ content, language });
            await vscode.window.showTextDocument(doc, { preview: true });
        },
        showDocument: async (uri) => {
            const doc = await vscode.workspace.openTextDocument(uri);
            await vscode.window.showTextDocument(doc, { preview: true });
        },
        dirtyDocuments: () =>
            vscode.workspace.textDocuments.filter((doc) => doc.isDirty).map((doc) => doc.uri.toString()),
        saveDocuments: async (uris) => {
            const wanted = new Set(uris);
            const docs = vscode.workspace.textDocuments.filter((d) => d.isDirty && wanted.has(d.uri.toString()));
            await Promise.all(docs.map((d) => d.save()));
        },
        showInputBox: async (options) => vscode.window.showInputBox(options),
        showQuickPick: async (items, options) => vscode.window.showQuickPick(items, options),
        showInformationMessage: async (message, ...actions) =>
            vscode.window.showInformationMessage(message, ...actions),
        showWarningMessage: async (message, ...actions) => vscode.window.showWarningMessage(message, ...actions),
        showErrorMessage: async (message, ...actions) => vscode.window.showErrorMessage(message, ...actions),
        createStatusBarItem: (id) => vscode.window.createStatusBarItem(id, vscode.StatusBarAlignment.Left, 50),
        createLogOutputChannel: (name) => vscode.window.createOutputChannel(name, { log: true }),
        activeEditorLocation: () => {
            const editor = vscode.window.activeTextEditor;
            if (editor === undefined || editor.document.uri.scheme !== 'file') {
                return undefined;
            }
            return { uri: editor.document.uri.toString(), line: editor.selection.active.line };
        },
        registerCommand: (id, handler) => vscode.commands.registerCommand(id, handler),
        setContext: async (key, value) => {
            await vscode.commands.executeCommand('setContext', key, value);
        },
        openDiff: async (left, right, title, preview) => {
            await vscode.commands.executeCommand('vscode.diff', left, right, title, { preview });
        },
        closeTabsOfScheme: async (scheme) => {
            const tabs = vscode.window.tabGroups.all
                .flatMap((group) => group.tabs)
                .filter((tab) => {
                    const input = tab.input;
                    if (input instanceof vscode.TabInputTextDiff) {
                        return input.modified.scheme === scheme || input.original.scheme === scheme;
                    }
                    return input instanceof vscode.TabInputText && input.uri.scheme === scheme;
                });
            if (tabs.length > 0) {
                await vscode.window.tabGroups.close(tabs, true);
            }
        },
        parseUri: (value) => vscode.Uri.parse(value, true),
        fileUri: (fsPath) => vscode.Uri.file(fsPath),
        makeUri: (parts) => vscode.Uri.from(parts),
        newEventEmitter: <T>() => new vscode.EventEmitter<T>(),
        newCodeLens: (line, command) => new vscode.CodeLens(new vscode.Range(line, 0, line, 0), command),
        pythonExtension: async () => {
            const ext = vscode.extensions.getExtension<PythonExtensionApi>(PYTHON_EXTENSION_ID);
            if (ext === undefined) {
                return undefined;
            }
            const api = ext.isActive ? ext.exports : await ext.activate();
            // Older Python extensions export no environments API; treat them as absent.
            return api?.environments === undefined ? undefined : api;
        },
    };
}
