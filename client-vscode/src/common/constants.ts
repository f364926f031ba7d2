// Names the extension defines: its own command ids (distinct from the server's, because
// vscode-languageclient registers the server's command ids itself), scheme, context keys.

export const EXTENSION_ID = 'greenpatch.greenpatch';
export const CONFIG_SECTION = 'greenpatch';
export const OUTPUT_NAME = 'Greenpatch';
export const PROPOSAL_SCHEME = 'greenpatch-proposal';
export const PYTHON_EXTENSION_ID = 'ms-python.python';

/** Context key set while the client runs; palette commands show only then. */
export const CONTEXT_ACTIVE = 'greenpatch.active';
/** Context key set while a proposal waits for review. */
export const CONTEXT_REVIEWING = 'greenpatch.reviewing';

export const Command = {
    runTask: 'greenpatch.ui.runTask',
    fixFailingTests: 'greenpatch.ui.fixFailingTests',
    showProposal: 'greenpatch.ui.showProposal',
    acceptProposal: 'greenpatch.ui.acceptProposal',
    rejectProposal: 'greenpatch.ui.rejectProposal',
    acceptHunk: 'greenpatch.ui.acceptHunk',
    rejectHunk: 'greenpatch.ui.rejectHunk',
    showEvidence: 'greenpatch.ui.showEvidence',
    undoLastApply: 'greenpatch.ui.undoLastApply',
    cancelRun: 'greenpatch.ui.cancelRun',
    resumeRun: 'greenpatch.ui.resumeRun',
    reindex: 'greenpatch.ui.reindex',
    pauseIndexing: 'greenpatch.ui.pauseIndexing',
    resumeIndexing: 'greenpatch.ui.resumeIndexing',
    showRunLog: 'greenpatch.ui.showRunLog',
    status: 'greenpatch.ui.status',
    showLogs: 'greenpatch.showLogs',
    restart: 'greenpatch.restart',
} as const;
