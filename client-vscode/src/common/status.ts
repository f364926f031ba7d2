// The status bar item: what the server is doing (idle, indexing, running: phase and cost,
// waiting for review), or why it is not running. Driven by run events for immediacy and by
// the server's greenpatch.status answer for the truth.
import { Command } from './constants';
import type { RunEvent, ServerStatus } from './protocol';
import type { ServerLifecycle } from './server';
import type { StatusItem } from './vscodeapi';

export interface StatusView {
    text: string;
    tooltip: string;
    command: string;
}

/** "$0.0042" under ten cents, "$1.25" above: small runs still show that they cost something. */
export function formatCost(usd: number): string {
    return `$${usd.toFixed(usd < 0.1 ? 4 : 2)}`;
}

/** What the item shows for a server lifecycle and, while it runs, its status. */
export function statusView(lifecycle: ServerLifecycle, status: ServerStatus): StatusView {
    switch (lifecycle) {
        case 'untrusted':
            return view(
                '$(shield) Greenpatch: restricted',
                'Greenpatch runs only in trusted workspaces.',
                Command.showLogs,
            );
        case 'failed':
            return view('$(error) Greenpatch', 'The server failed to start; click for the log.', Command.showLogs);
        case 'stopped':
            return view('$(circle-slash) Greenpatch', 'The server is stopped; click to restart.', Command.restart);
        case 'starting':
            return view('$(loading~spin) Greenpatch', 'Starting the server…', Command.showLogs);
        case 'running':
            return runningView(status);
    }
}

function runningView(status: ServerStatus): StatusView {
    const cost = status.costUsd === undefined ? '' : ` · ${formatCost(status.costUsd)}`;
    switch (status.state) {
        case 'idle':
            return view('$(check) Greenpatch', 'Idle. Click to run a task.', Command.runTask);
        case 'indexing':
            return view('$(loading~spin) Greenpatch: indexing', 'Indexing the workspace…', Command.showLogs);
        case 'running': {
            const phase = status.phase ?? 'running';
            return view(
                `$(loading~spin) Greenpatch: ${phase}${cost}`,
                `${status.runId === undefined ? 'A run' : `Run ${status.runId}`} is ${phase}. Click to cancel.`,
                Command.cancelRun,
            );
        }
        case 'review':
            return view(
                `$(diff) Greenpatch: review${cost}`,
                'A green proposal waits for your review. Click to open it.',
                Command.showProposal,
            );
    }
}

function view(text: string, tooltip: string, command: string): StatusView {
    return { text, tooltip, command };
}

/** The status a run event implies, given the status before it. */
export function applyRunEvent(status: ServerStatus, event: RunEvent): ServerStatus {
    const costUsd = event.costUsd ?? status.costUsd;
    switch (event.kind) {
        case 'started':
            return { state: 'running', phase: event.phase ?? 'planning', costUsd: event.costUsd, runId: event.runId };
        case 'phase':
        case 'iteration':
        case 'tests':
            return { state: 'running', phase: event.phase ?? status.phase, costUsd, runId: event.runId };
        case 'proposal':
            return { state: 'review', costUsd, runId: event.runId };
        case 'applied':
        case 'failed':
        case 'cancelled':
        case 'finished':
            return { state: 'idle' };
    }
}

export class StatusController {
    private lifecycle: ServerLifecycle = 'stopped';
    private status: ServerStatus = { state: 'idle' };

    constructor(private readonly item: StatusItem) {
        this.render();
        item.show();
    }

    get current(): ServerStatus {
        return this.status;
    }

    setLifecycle(lifecycle: ServerLifecycle): void {
        this.lifecycle = lifecycle;
        this.render();
    }

    setStatus(status: ServerStatus): void {
        this.status = status;
        this.render();
    }

    onRunEvent(event: RunEvent): void {
        this.setStatus(applyRunEvent(this.status, event));
    }

    dispose(): void {
        this.item.dispose();
    }

    private render(): void {
        const v = statusView(this.lifecycle, this.status);
        this.item.text = v.text;
        this.item.tooltip = v.tooltip;
        this.item.command = v.command;
    }
}
