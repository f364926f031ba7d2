// The palette commands: each asks what it needs (task text in an input box, the model in a
// quick pick), then sends the server's command. Errors are shown, logged, never thrown at VS Code.
import type * as vscode from 'vscode';
import { Command, CONFIG_SECTION } from './constants';
import { errorText, type Logger } from './logging';
import { type ResumableRun, ServerCommand } from './protocol';
import type { ExecuteCommand, HunkTarget, ReviewController } from './review';
import { ServerCommandError } from './server';
import { MODEL_ROLES, toServerSettings } from './settings';
import type { Disposable, VsCodeApi } from './vscodeapi';

/** Embedded model offered even when no model is configured. */
export const LOCAL_MODEL = 'local/qwen2.5-coder-0.5b';

export interface CommandDeps {
    api: VsCodeApi;
    log: Logger;
    execute: ExecuteCommand;
    review: ReviewController;
    restart: () => Promise<void>;
    showLogs: () => void;
    refreshStatus: () => Promise<void>;
}

interface ModelItem extends vscode.QuickPickItem {
    model: string | undefined;
}

const OTHER_MODEL = '$(edit) Another model…';

/** The quick pick's entries: the server's default first, then every configured model. */
export function modelChoices(config: Pick<vscode.WorkspaceConfiguration, 'get'>): ModelItem[] {
    const models = toServerSettings(config).models;
    const configured = [...MODEL_ROLES.map((r) => models[r]), ...models.fallbacks, LOCAL_MODEL];
    const unique = [...new Set(configured.filter((m): m is string => m !== undefined))];
    return [
        { label: '$(settings) Server default', description: models.default ?? '', model: undefined },
        ...unique.map((m) => ({ label: m, model: m })),
        { label: OTHER_MODEL, model: undefined },
    ];
}

/** Asks for the model; undefined when the user escaped, null for "the server's default". */
export async function pickModel(api: VsCodeApi): Promise<string | null | undefined> {
    const picked = await api.showQuickPick(modelChoices(api.getConfiguration(CONFIG_SECTION)), {
        title: 'Greenpatch: model for this run',
        placeHolder: 'Pick a model (Enter keeps the server default)',
    });
    if (picked === undefined) {
        return undefined;
    }
    if (picked.label === OTHER_MODEL) {
        const typed = await api.showInputBox({
            title: 'Model',
            prompt: 'A LiteLLM model name, e.g. openai/gpt-4o-mini',
        });
        return typed === undefined || typed.trim() === '' ? undefined : typed.trim();
    }
    return picked.model ?? null;
}

/** Asks for the task and the model, then starts the run at the cursor of the active editor. */
export async function runTask(deps: CommandDeps): Promise<void> {
    const task = await deps.api.showInputBox({
        title: 'Greenpatch: run a task',
        prompt: 'What should change? The agents write it as a diff, test it, and show it for review.',
        placeHolder: 'e.g. make parse_date accept ISO week dates',
        validateInput: (v) => (v.trim() === '' ? 'Describe the task in a few words.' : undefined),
    });
    if (task === undefined || task.trim() === '') {
        return;
    }
    const model = await pickModel(deps.api);
    if (model === undefined) {
        return;
    }
    const arg: { task: string; uri?: string; line?: number; model?: string } = { task: task.trim() };
    const where = deps.api.activeEditorLocation();
    if (where !== undefined) {
        arg.uri = where.uri;
        arg.line = where.line;
    }
    if (model !== null) {
        arg.model = model;
    }
    await deps.execute(ServerCommand.runTask, [arg]);
    deps.log.info(`task started: ${arg.task}`);
}

interface RunItem extends vscode.QuickPickItem {
    runId: string;
}

/** Offers the runs that can continue, newest first; the picked one goes on with one more
 * run's budget (the budget settings): a run paused for budget given nothing more would
 * pause again at once. */
export async function resumeRun(deps: CommandDeps): Promise<void> {
    const reply = (await deps.execute(ServerCommand.listResumable, [{}])) as { runs?: ResumableRun[] } | null;
    const runs = Array.isArray(reply?.runs) ? reply.runs : [];
    if (runs.length === 0) {
        void deps.api.showInformationMessage('Greenpatch: no paused or interrupted run to resume.');
        return;
    }
    const { budget } = toServerSettings(deps.api.getConfiguration(CONFIG_SECTION));
    const items: RunItem[] = runs.map((r) => ({
        label: r.task.split('\n')[0],
        description: `${r.status}, spent $${(r.costUsd ?? 0).toFixed(4)} and ${r.tokens ?? 0} tokens`,
        detail: `run ${r.runId}, last active ${r.updatedAt}`,
        runId: r.runId,
    }));
    const picked = await deps.api.showQuickPick(items, {
        title: 'Greenpatch: resume a run',
        placeHolder: `It continues with $${budget.usd} and ${budget.tokens} tokens more`,
    });
    if (picked === undefined) {
        return;
    }
    const arg = { runId: picked.runId, budgetUsd: budget.usd, budgetTokens: budget.tokens };
    await deps.execute(ServerCommand.resumeRun, [arg]);
    deps.log.info(`run resumed: ${picked.runId}`);
}

async function showRunLog(deps: CommandDeps): Promise<void> {
    const reply = (await deps.execute(ServerCommand.showRunLog, [{}])) as { text?: unknown } | null;
    const text = typeof reply?.text === 'string' ? reply.text : '';
    if (text === '') {
        void deps.api.showInformationMessage('Greenpatch: no run log yet.');
        return;
    }
    await deps.api.openUntitled(text, 'log');
}

/** The handler of every command the extension contributes, by command id. */
export function commandHandlers(deps: CommandDeps): Record<string, (...args: unknown[]) => Promise<unknown>> {
    const { execute, review } = deps;
    return {
        [Command.runTask]: () => runTask(deps),
        [Command.fixFailingTests]: () => execute(ServerCommand.fixFailingTests, [{}]),
        [Command.showProposal]: () => review.open(),
        [Command.acceptProposal]: () => review.acceptAll(),
        [Command.rejectProposal]: () => review.rejectAll(),
        [Command.acceptHunk]: (target?: unknown) => review.decideHunk(true, target as HunkTarget | undefined),
        [Command.rejectHunk]: (target?: unknown) => review.decideHunk(false, target as HunkTarget | undefined),
        [Command.showEvidence]: () => review.showEvidence(),
        [Command.undoLastApply]: () => execute(ServerCommand.undoLastApply, [{}]),
        [Command.cancelRun]: () => execute(ServerCommand.cancelRun, [{}]),
        [Command.resumeRun]: () => resumeRun(deps),
        [Command.reindex]: () => execute(ServerCommand.reindex, [{}]),
        [Command.pauseIndexing]: () => execute(ServerCommand.pauseIndexing, [{}]),
        [Command.resumeIndexing]: () => execute(ServerCommand.resumeIndexing, [{}]),
        [Command.showRunLog]: () => showRunLog(deps),
        [Command.status]: () => deps.refreshStatus(),
        [Command.showLogs]: async () => deps.showLogs(),
        [Command.restart]: () => deps.restart(),
    };
}

/**
 * Registers every handler, each wrapped so a failure becomes a log line and an error message
 * (none for a refusal from the server, which has shown its own).
 */
export function registerCommands(deps: CommandDeps): Disposable[] {
    return Object.entries(commandHandlers(deps)).map(([id, handler]) =>
        deps.api.registerCommand(id, async (...args: unknown[]) => {
            try {
                return await handler(...args);
            } catch (err) {
                deps.log.error(`${id} failed`, err);
                if (!(err instanceof ServerCommandError)) {
                    void deps.api.showErrorMessage(`Greenpatch: ${errorText(err)}`);
                }
                return undefined;
            }
        }),
    );
}
