// Wires the parts together for one activation: output channel, status bar, server manager,
// review, commands, and the events between them. extension.ts hands it the real VS Code API
// and language client; tests hand it fakes.
import type * as vscode from 'vscode';
import { CONFIG_SECTION, CONTEXT_ACTIVE, OUTPUT_NAME, PROPOSAL_SCHEME } from './constants';
import { registerCommands } from './commands';
import { resolveLaunch } from './launch';
import { ChannelLogger, errorText } from './logging';
import type { RunEvent, ServerStatus } from './protocol';
import { ServerCommand } from './protocol';
import { findInterpreter, fromPythonExtension, whichOnPath } from './python';
import { ReviewController } from './review';
import { type ConnectionFactory, ServerManager } from './server';
import { needsRestart, toExtensionSettings, toServerSettings } from './settings';
import { formatCost, StatusController } from './status';
import type { Disposable, VsCodeApi } from './vscodeapi';

/** How often the status is asked for while the server indexes, which sends no run events. */
const INDEXING_POLL_MS = 2000;

export interface SessionOptions {
    api: VsCodeApi;
    /** Makes the language client; it logs into the channel it is given. */
    connectionFactory: (channel: vscode.LogOutputChannel) => ConnectionFactory;
    /** PATH lookup, replaceable in tests. */
    which?: (command: string) => string | undefined;
}

export class Session implements Disposable {
    readonly server: ServerManager;
    readonly review: ReviewController;
    readonly status: StatusController;
    private readonly channel: vscode.LogOutputChannel;
    private readonly log: ChannelLogger;
    private readonly disposables: Disposable[] = [];
    private pollTimer: NodeJS.Timeout | undefined;

    constructor(private readonly options: SessionOptions) {
        const { api } = options;
        this.channel = api.createLogOutputChannel(OUTPUT_NAME);
        this.log = new ChannelLogger(this.channel);
        this.status = new StatusController(api.createStatusBarItem('greenpatch.status'));
        this.server = new ServerManager({
            api,
            log: this.log,
            factory: options.connectionFactory(this.channel),
            launch: () => this.launch(),
            settings: () => toServerSettings(api.getConfiguration(CONFIG_SECTION)),
        });
        const execute = (command: string, args: unknown[]) => this.server.executeCommand(command, args);
        this.review = new ReviewController(api, execute, this.log);
        this.disposables.push(
            this.channel,
            this.status,
            this.server,
            this.review,
            api.registerTextDocumentContentProvider(PROPOSAL_SCHEME, this.review),
            api.registerCodeLensProvider(PROPOSAL_SCHEME, this.review),
            ...registerCommands({
                api,
                log: this.log,
                execute,
                review: this.review,
                restart: () => this.server.restart(),
                showLogs: () => this.channel.show(true),
                refreshStatus: () => this.refreshStatus(true),
            }),
            this.server.onLifecycle((lifecycle) => {
                this.status.setLifecycle(lifecycle);
                void api.setContext(CONTEXT_ACTIVE, lifecycle === 'running');
                if (lifecycle === 'running') {
                    void this.refreshStatus(false);
                }
            }),
            this.server.onRunEvent((event) => void this.onRunEvent(event)),
            // The server sends no run event when a review ends, so ask it what it does now.
            this.review.onDidClear(() => void this.refreshStatus(false)),
            api.onDidChangeConfiguration((e) => {
                if (needsRestart(e)) {
                    this.log.info('settings changed; restarting the server');
                    void this.server.restart();
                }
            }),
            api.onDidGrantWorkspaceTrust(() => void this.server.restart()),
        );
    }

    /** Starts the server and follows the Python extension's interpreter choice. */
    async start(): Promise<void> {
        const python = await this.options.api.pythonExtension().catch(() => undefined);
        if (python !== undefined) {
            this.disposables.push(
                python.environments.onDidChangeActiveEnvironmentPath(() => {
                    const ext = toExtensionSettings(this.options.api.getConfiguration(CONFIG_SECTION));
                    if (ext.interpreter === '' && ext.serverPath === '') {
                        void this.server.restart();
                    }
                }),
            );
        }
        await this.server.restart();
    }

    dispose(): void {
        clearTimeout(this.pollTimer);
        for (const d of this.disposables.splice(0).reverse()) {
            d.dispose();
        }
    }

    private async launch() {
        const api = this.options.api;
        const folder = api.workspaceFolders()[0];
        const settings = toExtensionSettings(api.getConfiguration(CONFIG_SECTION, folder?.uri));
        return resolveLaunch(
            settings,
            () =>
                findInterpreter({
                    setting: settings.interpreter,
                    pythonExtension: async () => fromPythonExtension(await api.pythonExtension(), folder?.uri),
                    which: this.options.which ?? ((c) => whichOnPath(c)),
                }),
            folder?.uri.fsPath,
        );
    }

    /** Asks the server what it is doing; `announce` also tells the user (the Show Status command). */
    async refreshStatus(announce: boolean): Promise<void> {
        clearTimeout(this.pollTimer);
        let status: ServerStatus;
        try {
            status = (await this.server.executeCommand(ServerCommand.status, [])) as ServerStatus;
        } catch (err) {
            this.log.warn(`status: ${errorText(err)}`);
            return;
        }
        this.status.setStatus(status);
        if (status.state === 'indexing') {
            this.pollTimer = setTimeout(() => void this.refreshStatus(false), INDEXING_POLL_MS);
        }
        if (status.state === 'review' && this.review.current === undefined) {
            await this.review.refresh(status.runId);
        } else if (status.state === 'idle' && this.review.current !== undefined) {
            // The review ended on the server's side (a restart, another client): close ours.
            await this.review.clear();
        }
        if (announce) {
            const cost = status.costUsd === undefined ? '' : `, ${formatCost(status.costUsd)}`;
            const phase = status.phase === undefined ? '' : ` (${status.phase})`;
            void this.options.api.showInformationMessage(`Greenpatch: ${status.state}${phase}${cost}`);
        }
    }

    private async onRunEvent(event: RunEvent): Promise<void> {
        const cost = event.costUsd === undefined ? '' : ` [${formatCost(event.costUsd)}]`;
        this.channel.info(
            `[run ${event.runId}] ${event.kind}${event.phase ? `/${event.phase}` : ''}: ${event.message}${cost}`,
        );
        this.status.onRunEvent(event);
        const api = this.options.api;
        switch (event.kind) {
            case 'proposal':
                await this.offerProposal(event.runId);
                break;
            case 'failed':
                if (
                    (await api.showWarningMessage(`Greenpatch: the run failed: ${event.message}`, 'Show Log')) ===
                    'Show Log'
                ) {
                    this.channel.show(true);
                }
                break;
            case 'cancelled':
                await this.review.clear();
                void api.showInformationMessage('Greenpatch: run cancelled.');
                break;
            case 'finished':
                await this.refreshStatus(false);
                break;
            default:
                break;
        }
    }

    private async offerProposal(runId: string): Promise<void> {
        const p = await this.review.refresh(runId);
        if (p === undefined) {
            return;
        }
        const tests = p.evidence.after.trim().split('\n').pop() ?? '';
        const choice = await this.options.api.showInformationMessage(
            `Greenpatch: a green proposal for "${p.task}": ${p.files.length} file(s), ${formatCost(p.costUsd)}. ${tests}`,
            'Review',
            'Accept All',
            'Reject',
        );
        const actions: Record<string, () => Promise<void>> = {
            Review: () => this.review.open(),
            'Accept All': () => this.review.acceptAll(),
            Reject: () => this.review.rejectAll(),
        };
        const action = choice === undefined ? undefined : actions[choice];
        try {
            await action?.();
        } catch (err) {
            this.log.error(`${choice} failed`, err);
            void this.options.api.showErrorMessage(`Greenpatch: ${errorText(err)}`);
        }
    }
}
