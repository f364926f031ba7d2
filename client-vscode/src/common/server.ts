// The server's lifecycle: start, stop, and restarts that are merged (any number of restart
// requests while one is under way become exactly one more), refused in untrusted workspaces.
// The language client itself comes from a ConnectionFactory so tests can replace it.
import type { ServerLaunch } from './launch';
import { errorText, type Logger } from './logging';
import type { RunEvent } from './protocol';
import type { ServerSettings } from './settings';
import type { Disposable, EventEmitterLike, VsCodeApi } from './vscodeapi';

/** A started language client, reduced to what the extension uses. */
export interface ServerConnection {
    start(): Promise<void>;
    stop(): Promise<void>;
    executeCommand(command: string, args: unknown[]): Promise<unknown>;
    onRunEvent(handler: (event: RunEvent) => void): Disposable;
}

export type ConnectionFactory = (launch: ServerLaunch, settings: () => ServerSettings) => ServerConnection;

export type ServerLifecycle = 'stopped' | 'starting' | 'running' | 'failed' | 'untrusted';

export class ServerNotRunningError extends Error {
    constructor() {
        super('The Greenpatch server is not running; see the Greenpatch output, or run "Greenpatch: Restart Server".');
        this.name = 'ServerNotRunningError';
    }
}

/**
 * The server answered a command with `{error}`. It has already shown the message to the user
 * (window/showMessage), so the extension only logs it and stops what it was doing.
 */
export class ServerCommandError extends Error {
    constructor(
        readonly command: string,
        message: string,
    ) {
        super(message);
        this.name = 'ServerCommandError';
    }
}

/** `{error: string}` is how the server's command handlers report a refused request. */
function errorOf(reply: unknown): string | undefined {
    if (typeof reply === 'object' && reply !== null && 'error' in reply) {
        const error = (reply as { error: unknown }).error;
        return typeof error === 'string' ? error : JSON.stringify(error);
    }
    return undefined;
}

export interface ServerManagerDeps {
    api: VsCodeApi;
    log: Logger;
    factory: ConnectionFactory;
    launch: () => Promise<ServerLaunch>;
    settings: () => ServerSettings;
}

export class ServerManager implements Disposable {
    private connection: ServerConnection | undefined;
    private inFlight: Promise<void> | undefined;
    private queued: Promise<void> | undefined;
    private lifecycleValue: ServerLifecycle = 'stopped';
    private readonly runEvents: EventEmitterLike<RunEvent>;
    private readonly lifecycleEvents: EventEmitterLike<ServerLifecycle>;
    private readonly connectionSubscriptions: Disposable[] = [];

    constructor(private readonly deps: ServerManagerDeps) {
        this.runEvents = deps.api.newEventEmitter<RunEvent>();
        this.lifecycleEvents = deps.api.newEventEmitter<ServerLifecycle>();
    }

    /** Fires for every greenpatch/runEvent notification from whichever server is running. */
    get onRunEvent() {
        return this.runEvents.event;
    }

    get onLifecycle() {
        return this.lifecycleEvents.event;
    }

    get lifecycle(): ServerLifecycle {
        return this.lifecycleValue;
    }

    /**
     * Stops the running server, if any, and starts a new one. Calls made while a restart is
     * under way are merged into a single further restart, so a burst of settings changes
     * starts the server twice at most.
     */
    restart(): Promise<void> {
        if (this.inFlight === undefined) {
            return this.launchOnce();
        }
        if (this.queued === undefined) {
            this.queued = this.inFlight.then(() => {
                this.queued = undefined;
                return this.launchOnce();
            });
        }
        return this.queued;
    }

    /** Sends workspace/executeCommand to the server and returns its result; a refusal throws. */
    async executeCommand(command: string, args: unknown[]): Promise<unknown> {
        if (this.inFlight !== undefined) {
            await this.inFlight;
        }
        if (this.connection === undefined || this.lifecycleValue !== 'running') {
            throw new ServerNotRunningError();
        }
        const reply = await this.connection.executeCommand(command, args);
        const error = errorOf(reply);
        if (error !== undefined) {
            throw new ServerCommandError(command, error);
        }
        return reply;
    }

    async stop(): Promise<void> {
        const connection = this.connection;
        this.connection = undefined;
        for (const sub of this.connectionSubscriptions.splice(0)) {
            sub.dispose();
        }
        if (connection !== undefined) {
            try {
                await connection.stop();
            } catch (err) {
                this.deps.log.warn(`stopping the server: ${errorText(err)}`);
            }
        }
        if (this.lifecycleValue !== 'untrusted') {
            this.setLifecycle('stopped');
        }
    }

    dispose(): void {
        void this.stop();
        this.runEvents.dispose();
        this.lifecycleEvents.dispose();
    }

    private launchOnce(): Promise<void> {
        const run = this.stopThenStart().finally(() => {
            if (this.inFlight === run) {
                this.inFlight = undefined;
            }
        });
        this.inFlight = run;
        return run;
    }

    private async stopThenStart(): Promise<void> {
        await this.stop();
        // The server runs the project's tests and model-written code: never in an untrusted folder.
        if (!this.deps.api.isTrusted()) {
            this.deps.log.warn('workspace is not trusted; the Greenpatch server is not started');
            this.setLifecycle('untrusted');
            return;
        }
        this.setLifecycle('starting');
        try {
            const launch = await this.deps.launch();
            this.deps.log.info(`starting server: ${launch.describe}: ${launch.command} ${launch.args.join(' ')}`);
            const connection = this.deps.factory(launch, this.deps.settings);
            this.connectionSubscriptions.push(connection.onRunEvent((e) => this.runEvents.fire(e)));
            this.connection = connection;
            await connection.start();
            this.setLifecycle('running');
            this.deps.log.info('server started');
        } catch (err) {
            this.deps.log.error('the Greenpatch server failed to start', err);
            this.setLifecycle('failed');
            void this.deps.api.showErrorMessage(`Greenpatch: the server failed to start: ${errorText(err)}`);
        }
    }

    private setLifecycle(value: ServerLifecycle): void {
        if (this.lifecycleValue !== value) {
            this.lifecycleValue = value;
            this.lifecycleEvents.fire(value);
        }
    }
}
