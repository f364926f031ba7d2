// The server's contract as seen from the extension: command names, the Proposal it returns,
// the run events it sends. Kept in one place so a server change is a one-file change here.

/** Commands the server answers through workspace/executeCommand. */
export const ServerCommand = {
    runTask: 'greenpatch.runTask',
    fixFailingTests: 'greenpatch.fixFailingTests',
    showProposal: 'greenpatch.showProposal',
    acceptProposal: 'greenpatch.acceptProposal',
    rejectProposal: 'greenpatch.rejectProposal',
    acceptHunk: 'greenpatch.acceptHunk',
    rejectHunk: 'greenpatch.rejectHunk',
    undoLastApply: 'greenpatch.undoLastApply',
    cancelRun: 'greenpatch.cancelRun',
    reindex: 'greenpatch.reindex',
    pauseIndexing: 'greenpatch.pauseIndexing',
    resumeIndexing: 'greenpatch.resumeIndexing',
    showRunLog: 'greenpatch.showRunLog',
    status: 'greenpatch.status',
    listResumable: 'greenpatch.listResumable',
    resumeRun: 'greenpatch.resumeRun',
} as const;

/** One run `greenpatch.listResumable` offers: paused (budget spent) or left by a killed server. */
export interface ResumableRun {
    runId: string;
    task: string;
    status: string;
    costUsd: number | null;
    tokens: number | null;
    updatedAt: string;
}

/** Key of the client capability under `capabilities.experimental` (see client.ts). */
export const CLIENT_CAPABILITY = 'greenpatch';

/** This client shows proposals in its own diff review and announces them itself. */
export const CLIENT_REVIEW_CAPABILITY = { nativeReview: true } as const;

/** The custom notification carrying a run's progress. */
export const RUN_EVENT_METHOD = 'greenpatch/runEvent';

export interface ProposalHunk {
    index: number;
    header: string;
    startLine: number;
    endLine: number;
    /** null while undecided. */
    accepted: boolean | null;
}

export interface ProposalFile {
    /** Workspace-relative, with forward slashes. */
    path: string;
    uri: string;
    original: string;
    proposed: string;
    hunks: ProposalHunk[];
}

export interface Proposal {
    runId: string;
    task: string;
    files: ProposalFile[];
    diff: string;
    /** newTests: files the tester wrote; droppedTests: its tests that failed on vouched-for code. */
    evidence: { before: string; after: string; newTests?: string[]; droppedTests?: string[] };
    costUsd: number;
    iterations: number;
}

export type RunEventKind =
    'started' | 'phase' | 'iteration' | 'tests' | 'proposal' | 'applied' | 'failed' | 'cancelled' | 'finished';

export interface RunEvent {
    runId: string;
    kind: RunEventKind;
    message: string;
    phase?: string;
    costUsd?: number;
}

export type ServerState = 'idle' | 'indexing' | 'running' | 'review';

export interface ServerStatus {
    state: ServerState;
    phase?: string;
    costUsd?: number;
    runId?: string;
}

/** Type guard for a Proposal received from the server, so a malformed reply fails loudly. */
export function isProposal(value: unknown): value is Proposal {
    if (typeof value !== 'object' || value === null) {
        return false;
    }
    const p = value as Partial<Proposal>;
    return (
        typeof p.runId === 'string' &&
        Array.isArray(p.files) &&
        p.files.every(
            (f) =>
                typeof f.path === 'string' &&
                typeof f.uri === 'string' &&
                typeof f.proposed === 'string' &&
                Array.isArray(f.hunks),
        )
    );
}
