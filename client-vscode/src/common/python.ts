// Which Python runs the server: the `greenpatch.interpreter` setting, else the interpreter the
// Python extension has selected for the workspace, else `python3` (or `python`) on PATH.
import * as fs from 'fs';
import * as path from 'path';
import type * as vscode from 'vscode';
import type { PythonExtensionApi } from './vscodeapi';

export type InterpreterSource = 'setting' | 'python-extension' | 'path';

export interface Interpreter {
    path: string;
    source: InterpreterSource;
}

/** Looks a bare command up on PATH the way a shell would; undefined when absent. */
export function whichOnPath(command: string, envPath: string = process.env.PATH ?? ''): string | undefined {
    for (const dir of envPath.split(path.delimiter)) {
        if (dir === '') {
            continue;
        }
        const candidate = path.join(dir, command);
        try {
            fs.accessSync(candidate, fs.constants.X_OK);
            if (fs.statSync(candidate).isFile()) {
                return candidate;
            }
        } catch {
            // not here; keep looking
        }
    }
    return undefined;
}

/** The Python extension's interpreter for `resource`, if the extension is there and has one. */
export async function fromPythonExtension(
    api: PythonExtensionApi | undefined,
    resource: vscode.Uri | undefined,
): Promise<string | undefined> {
    if (api === undefined) {
        return undefined;
    }
    const active = api.environments.getActiveEnvironmentPath(resource);
    const resolved = await api.environments.resolveEnvironment(active);
    return resolved?.executable.uri?.fsPath;
}

export interface InterpreterSources {
    setting: string;
    pythonExtension: () => Promise<string | undefined>;
    which: (command: string) => string | undefined;
}

/** Walks the chain; undefined when no Python can be found at all. */
export async function findInterpreter(sources: InterpreterSources): Promise<Interpreter | undefined> {
    if (sources.setting !== '') {
        return { path: sources.setting, source: 'setting' };
    }
    const fromExtension = await sources.pythonExtension().catch(() => undefined);
    if (fromExtension !== undefined && fromExtension !== '') {
        return { path: fromExtension, source: 'python-extension' };
    }
    for (const name of process.platform === 'win32' ? ['python.exe', 'py.exe'] : ['python3', 'python']) {
        const found = sources.which(name);
        if (found !== undefined) {
            return { path: found, source: 'path' };
        }
    }
    return undefined;
}
