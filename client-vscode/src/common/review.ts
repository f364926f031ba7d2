// Review of a green proposal in VS Code's own diff editor: the current file on the left, the
// proposed text (served by a content provider on the greenpatch-proposal: scheme) on the right,
// accept all / reject all in the editor title, and a CodeLens per hunk to accept or reject it.
import type * as vscode from 'vscode';
import { Command, CONTEXT_REVIEWING, PROPOSAL_SCHEME } from './constants';
import { errorText, type Logger } from './logging';
import { isProposal, type Proposal, type ProposalFile, type ProposalHunk, ServerCommand } from './protocol';
import { formatCost } from './status';
import type { Disposable, EventEmitterLike, VsCodeApi } from './vscodeapi';

/** Sends a command to the server; ServerManager.executeCommand in the extension. */
export type ExecuteCommand = (command: string, args: unknown[]) => Promise<unknown>;

/** The argument of the hunk commands, as the server expects it. */
export interface HunkTarget {
    runId: string;
    file: string;
    hunk: number;
}

/**
 * The 0-based line of the proposed text where a hunk's first change is: the header gives where
 * the hunk starts on each side ("@@ -a +c @@", context included), and the leading context lines
 * are the ones both sides share. Without a readable header, the server's startLine.
 */
export function hunkLine(hunk: ProposalHunk, file?: Pick<ProposalFile, 'original' | 'proposed'>): number {
    const match = /^@@ -(\d+)(?:,\d+)? \+(\d+)(?:,\d+)? @@/.exec(hunk.header);
    if (!match) {
        return Math.max(0, hunk.startLine);
    }
    const start = Math.max(0, Number(match[2]) - 1);
    if (file === undefined) {
        return start;
    }
    const before = file.original.split('\n').slice(Math.max(0, Number(match[1]) - 1));
    const after = file.proposed.split('\n').slice(start);
    let context = 0;
    while (context < before.length && context < after.length - 1 && before[context] === after[context]) {
        context++;
    }
    return start + context;
}

export function evidenceText(p: Proposal): string {
    return [
        `Greenpatch run ${p.runId}`,
        `Task: ${p.task}`,
        `Cost: ${formatCost(p.costUsd)} · iterations: ${p.iterations}`,
        '',
        '== Tests before the change ==',
        p.evidence.before.trimEnd(),
        '',
        '== Tests with the change ==',
        p.evidence.after.trimEnd(),
        '',
        ...testerLines(p),
        '== Diff ==',
        p.diff.trimEnd(),
        '',
    ].join('\n');
}

/** What the tester added to the change, and which of its tests were dropped as wrong. */
function testerLines(p: Proposal): string[] {
    const added = p.evidence.newTests ?? [];
    const dropped = p.evidence.droppedTests ?? [];
    if (added.length === 0 && dropped.length === 0) {
        return [];
    }
    return [
        "== The tester's tests ==",
        ...added.map((path) => `new: ${path}`),
        ...dropped.map((test) => `dropped (failed on code that passes the trusted checks): ${test}`),
        '',
    ];
}

export class ReviewController implements vscode.TextDocumentContentProvider, vscode.CodeLensProvider, Disposable {
    private proposal: Proposal | undefined;
    private readonly contentChanged: EventEmitterLike<vscode.Uri>;
    private readonly lensesChanged: EventEmitterLike<void>;
    private readonly cleared: EventEmitterLike<void>;

    constructor(
        private readonly api: VsCodeApi,
        private readonly execute: ExecuteCommand,
        private readonly log: Logger,
    ) {
        this.contentChanged = api.newEventEmitter<vscode.Uri>();
        this.lensesChanged = api.newEventEmitter<void>();
        this.cleared = api.newEventEmitter<void>();
    }

    /** Fires when the review ends: accepted, rejected, fully decided, or gone on the server. */
    get onDidClear() {
        return this.cleared.event;
    }

    get onDidChange() {
        return this.contentChanged.event;
    }

    get onDidChangeCodeLenses() {
        return this.lensesChanged.event;
    }

    get current(): Proposal | undefined {
        return this.proposal;
    }

    proposedUri(file: ProposalFile, runId: string): vscode.Uri {
        return this.api.makeUri({ scheme: PROPOSAL_SCHEME, path: `/${file.path}`, query: `run=${runId}` });
    }

    evidenceUri(runId: string): vscode.Uri {
        return this.api.makeUri({
            scheme: PROPOSAL_SCHEME,
            path: '/Greenpatch evidence.txt',
            query: `evidence=${runId}`,
        });
    }

    provideTextDocumentContent(uri: vscode.Uri): string {
        const query = new URLSearchParams(uri.query);
        const p = this.proposal;
        if (p === undefined) {
            return '';
        }
        if (query.get('evidence') === p.runId) {
            return evidenceText(p);
        }
        if (query.get('run') !== p.runId) {
            return '';
        }
        return this.fileAt(uri)?.proposed ?? '';
    }

    provideCodeLenses(document: vscode.TextDocument): vscode.CodeLens[] {
        const p = this.proposal;
        const file = p === undefined ? undefined : this.fileAt(document.uri);
        if (p === undefined || file === undefined) {
            return [];
        }
        const summary = `Test evidence · ${p.iterations} iteration(s) · ${formatCost(p.costUsd)}`;
        const lenses = [
            this.api.newCodeLens(0, { title: `$(beaker) ${summary}`, command: Command.showEvidence }),
            this.api.newCodeLens(0, { title: '$(check-all) Accept all', command: Command.acceptProposal }),
            this.api.newCodeLens(0, { title: '$(close-all) Reject all', command: Command.rejectProposal }),
        ];
        for (const hunk of file.hunks) {
            lenses.push(...this.hunkLenses(p.runId, file, hunk));
        }
        return lenses;
    }

    /** Asks the server for the current proposal and updates the open diff editors. */
    async refresh(runId?: string): Promise<Proposal | undefined> {
        let reply: unknown;
        try {
            // open: false, or the server also opens its own review document for editors without one.
            reply = await this.execute(ServerCommand.showProposal, [
                runId === undefined ? { open: false } : { runId, open: false },
            ]);
        } catch (err) {
            this.log.warn(`no proposal: ${errorText(err)}`);
            reply = undefined;
        }
        this.proposal = isProposal(reply) ? reply : undefined;
        if (reply !== undefined && reply !== null && this.proposal === undefined) {
            this.log.error(`the server sent a malformed proposal: ${JSON.stringify(reply).slice(0, 300)}`);
        }
        this.changed();
        await this.api.setContext(CONTEXT_REVIEWING, this.proposal !== undefined);
        return this.proposal;
    }

    /** Opens every file of the proposal in a diff editor: current file vs proposed text. */
    async open(runId?: string): Promise<void> {
        const p = await this.refresh(runId);
        if (p === undefined) {
            void this.api.showInformationMessage('Greenpatch: no proposal waits for review.');
            return;
        }
        for (const file of p.files) {
            const title = `${file.path} (current ↔ Greenpatch proposal)`;
            await this.api.openDiff(this.api.parseUri(file.uri), this.proposedUri(file, p.runId), title, false);
        }
    }

    async acceptAll(): Promise<void> {
        const p = this.proposal ?? (await this.refresh());
        if (p === undefined) {
            void this.api.showInformationMessage('Greenpatch: no proposal to accept.');
            return;
        }
        await this.applying(p, () => this.execute(ServerCommand.acceptProposal, [{ runId: p.runId }]));
        await this.finish(`Greenpatch: applied the proposal (${p.files.length} file(s)).`);
    }

    /** Rejects the proposal; with feedback typed in the input box, the agents revise it. */
    async rejectAll(): Promise<void> {
        const p = this.proposal ?? (await this.refresh());
        if (p === undefined) {
            void this.api.showInformationMessage('Greenpatch: no proposal to reject.');
            return;
        }
        const feedback = await this.api.showInputBox({
            title: 'Reject the Greenpatch proposal',
            prompt: 'Optional: say what is wrong and the agents revise the proposal. Leave empty to just reject.',
            placeHolder: 'e.g. keep the public signature unchanged',
        });
        if (feedback === undefined) {
            return; // Escape: nothing is rejected
        }
        const arg = feedback.trim() === '' ? { runId: p.runId } : { runId: p.runId, feedback: feedback.trim() };
        await this.execute(ServerCommand.rejectProposal, [arg]);
        await this.finish(
            arg.feedback === undefined ? 'Greenpatch: proposal rejected.' : 'Greenpatch: revising the proposal…',
        );
    }

    /** Accepts or rejects one hunk; without a target the user picks one from a list. */
    async decideHunk(accept: boolean, target?: HunkTarget): Promise<void> {
        const chosen = target ?? (await this.pickHunk(accept));
        if (chosen === undefined) {
            return;
        }
        const command = accept ? ServerCommand.acceptHunk : ServerCommand.rejectHunk;
        const p = this.proposal;
        const reply =
            p === undefined
                ? await this.execute(command, [chosen])
                : await this.applying(p, () => this.execute(command, [chosen]));
        // The server closes the review once every hunk is decided; asking for it then would
        // only earn an error, so its count of what remains decides.
        const remaining = (reply as { remaining?: unknown } | null)?.remaining;
        if (remaining === 0) {
            await this.finish('Greenpatch: every hunk is decided.');
            return;
        }
        const after = await this.refresh(chosen.runId);
        if (after === undefined) {
            await this.clear();
        }
    }

    async showEvidence(): Promise<void> {
        const p = this.proposal ?? (await this.refresh());
        if (p === undefined) {
            void this.api.showInformationMessage('Greenpatch: no proposal, so no test evidence to show.');
            return;
        }
        await this.api.showDocument(this.evidenceUri(p.runId));
    }

    /** Forgets the proposal (after it was applied, rejected or replaced) and closes its diffs. */
    async clear(): Promise<void> {
        this.proposal = undefined;
        this.changed();
        await this.api.setContext(CONTEXT_REVIEWING, false);
        await this.api.closeTabsOfScheme(PROPOSAL_SCHEME);
        this.cleared.fire();
    }

    dispose(): void {
        this.contentChanged.dispose();
        this.lensesChanged.dispose();
        this.cleared.dispose();
    }

    /**
     * Runs `apply` (a command that makes the server send a workspace edit), then saves the
     * proposal's files it changed, so accepting writes to disk like any other save. Files
     * that already had unsaved changes before are left unsaved: their owner saves them.
     */
    private async applying<T>(p: Proposal, apply: () => Promise<T>): Promise<T> {
        const uris = p.files.map((f) => this.api.parseUri(f.uri).toString());
        const dirtyBefore = new Set(this.api.dirtyDocuments());
        const result = await apply();
        await this.api.saveDocuments(uris.filter((u) => !dirtyBefore.has(u)));
        return result;
    }

    private async finish(message: string): Promise<void> {
        await this.clear();
        void this.api.showInformationMessage(message);
    }

    private async pickHunk(accept: boolean): Promise<HunkTarget | undefined> {
        const p = this.proposal ?? (await this.refresh());
        if (p === undefined) {
            void this.api.showInformationMessage('Greenpatch: no proposal waits for review.');
            return undefined;
        }
        const items = p.files.flatMap((file) =>
            file.hunks
                .filter((h) => h.accepted === null)
                .map((h) => ({
                    label: `${file.path} · hunk ${h.index + 1}`,
                    description: h.header,
                    target: { runId: p.runId, file: file.path, hunk: h.index },
                })),
        );
        const picked = await this.api.showQuickPick(items, {
            title: accept ? 'Accept which hunk?' : 'Reject which hunk?',
            placeHolder: 'file · hunk',
        });
        return picked?.target;
    }

    private hunkLenses(runId: string, file: ProposalFile, hunk: ProposalHunk): vscode.CodeLens[] {
        const line = hunkLine(hunk, file);
        const n = hunk.index + 1;
        if (hunk.accepted !== null) {
            const title = hunk.accepted ? `$(check) hunk ${n} accepted` : `$(close) hunk ${n} rejected`;
            return [this.api.newCodeLens(line, { title, command: '' })];
        }
        const target: HunkTarget = { runId, file: file.path, hunk: hunk.index };
        return [
            this.api.newCodeLens(line, {
                title: `$(check) Accept hunk ${n}`,
                command: Command.acceptHunk,
                arguments: [target],
            }),
            this.api.newCodeLens(line, {
                title: `$(close) Reject hunk ${n}`,
                command: Command.rejectHunk,
                arguments: [target],
            }),
        ];
    }

    private fileAt(uri: vscode.Uri): ProposalFile | undefined {
        if (uri.scheme !== PROPOSAL_SCHEME) {
            return undefined;
        }
        const path = uri.path.replace(/^\//, '');
        return this.proposal?.files.find((f) => f.path === path);
    }

    private changed(): void {
        const p = this.proposal;
        if (p !== undefined) {
            for (const file of p.files) {
                this.contentChanged.fire(this.proposedUri(file, p.runId));
            }
            this.contentChanged.fire(this.evidenceUri(p.runId));
        }
        this.lensesChanged.fire();
    }
}
