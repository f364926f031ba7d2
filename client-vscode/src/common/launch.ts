// How the server process is started: `<python> -m greenpatch.cli lsp`, or the executable named
// by `greenpatch.serverPath` as `<serverPath> lsp`. Pure, so tests check the exact command line.
import type { Interpreter } from './python';
import type { ExtensionSettings } from './settings';

export interface ServerLaunch {
    command: string;
    args: string[];
    cwd: string | undefined;
    env: Record<string, string>;
    /** Human-readable origin, for the log. */
    describe: string;
}

export class NoInterpreterError extends Error {
    constructor() {
        super(
            'Greenpatch found no Python to run its server. Set "greenpatch.interpreter" to a Python ' +
                'with greenpatch installed, or "greenpatch.serverPath" to a greenpatch executable.',
        );
        this.name = 'NoInterpreterError';
    }
}

/** The launch for the given settings; `interpreter` is only consulted without serverPath. */
export async function resolveLaunch(
    settings: ExtensionSettings,
    interpreter: () => Promise<Interpreter | undefined>,
    cwd: string | undefined,
    baseEnv: NodeJS.ProcessEnv = process.env,
): Promise<ServerLaunch> {
    // Unbuffered, so the server's log reaches the output channel as it happens.
    const env: Record<string, string> = { ...definedOnly(baseEnv), PYTHONUNBUFFERED: '1' };
    if (settings.serverPath !== '') {
        return {
            command: settings.serverPath,
            args: ['lsp'],
            cwd,
            env,
            describe: `greenpatch.serverPath ${settings.serverPath}`,
        };
    }
    const python = await interpreter();
    if (python === undefined) {
        throw new NoInterpreterError();
    }
    return {
        command: python.path,
        args: ['-m', 'greenpatch.cli', 'lsp'],
        cwd,
        env,
        describe: `${python.path} (from ${python.source})`,
    };
}

function definedOnly(env: NodeJS.ProcessEnv): Record<string, string> {
    const out: Record<string, string> = {};
    for (const [key, value] of Object.entries(env)) {
        if (value !== undefined) {
            out[key] = value;
        }
    }
    return out;
}
