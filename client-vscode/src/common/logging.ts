// One output channel, "Greenpatch", for the extension, the server's stderr and the agents' run
// events. Code logs through the Logger interface so tests can read what was logged.
import type * as vscode from 'vscode';

export interface Logger {
    debug(message: string): void;
    info(message: string): void;
    warn(message: string): void;
    error(message: string, err?: unknown): void;
}

/** Logs to a VS Code LogOutputChannel. */
export class ChannelLogger implements Logger {
    constructor(readonly channel: vscode.LogOutputChannel) {}

    debug(message: string): void {
        this.channel.debug(message);
    }

    info(message: string): void {
        this.channel.info(message);
    }

    warn(message: string): void {
        this.channel.warn(message);
    }

    error(message: string, err?: unknown): void {
        this.channel.error(err === undefined ? message : `${message}: ${errorText(err)}`);
    }
}

/** A readable one-line description of any thrown value. */
export function errorText(err: unknown): string {
    if (err instanceof Error) {
        return err.message;
    }
    if (typeof err === 'object' && err !== null && 'message' in err) {
        return String((err as { message: unknown }).message);
    }
    return String(err);
}
