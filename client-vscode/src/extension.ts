// Entry point: only wiring. The work is in common/ (see session.ts).
import type * as vscode from 'vscode';
import { languageClientFactory } from './common/client';
import { Session } from './common/session';
import { createVsCodeApi } from './common/vscodeHost';

let session: Session | undefined;

export async function activate(context: vscode.ExtensionContext): Promise<void> {
    session = new Session({ api: createVsCodeApi(), connectionFactory: languageClientFactory });
    context.subscriptions.push(session);
    await session.start();
}

export async function deactivate(): Promise<void> {
    if (session !== undefined) {
        await session.server.stop();
        session = undefined;
    }
}
