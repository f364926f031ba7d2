// Settings: what the extension itself needs (how to start the server) and the server's own
// settings, mapped from VS Code's flat `greenpatch.*` keys to the nested camelCase object the
// server reads from initializationOptions and from workspace/configuration.
import type * as vscode from 'vscode';
import { CONFIG_SECTION } from './constants';

export type EditFormat = 'auto' | 'udiff' | 'whole' | 'search_replace';
export type Approval = 'review' | 'auto';
export type SandboxBackend = 'auto' | 'bwrap' | 'docker' | 'process';

export interface ModelSettings {
    default?: string;
    planner?: string;
    coder?: string;
    tester?: string;
    debugger?: string;
    critic?: string;
    embedding?: string;
    fallbacks: string[];
    editFormat: EditFormat;
}

/** The server's settings, exactly as sent to it. Empty model names are left out. */
export interface ServerSettings {
    models: ModelSettings;
    budget: { usd: number; tokens: number };
    maxIterations: number;
    approval: Approval;
    sandbox: { backend: SandboxBackend; timeoutS: number; dockerImage: string };
    index: { enabled: boolean; chromaUrl: string; maxVectors: number };
    logLevel: string;
}

/** Settings only the extension reads. */
export interface ExtensionSettings {
    interpreter: string;
    serverPath: string;
}

type Config = Pick<vscode.WorkspaceConfiguration, 'get'>;

export const MODEL_ROLES = ['default', 'planner', 'coder', 'tester', 'debugger', 'critic'] as const;

function str(config: Config, key: string, fallback: string): string {
    const value = config.get<unknown>(key);
    return typeof value === 'string' ? value.trim() : fallback;
}

function num(config: Config, key: string, fallback: number): number {
    const value = config.get<unknown>(key);
    return typeof value === 'number' && Number.isFinite(value) ? value : fallback;
}

function bool(config: Config, key: string, fallback: boolean): boolean {
    const value = config.get<unknown>(key);
    return typeof value === 'boolean' ? value : fallback;
}

function oneOf<T extends string>(config: Config, key: string, allowed: readonly T[], fallback: T): T {
    const value = config.get<unknown>(key);
    return allowed.includes(value as T) ? (value as T) : fallback;
}

function strings(config: Config, key: string): string[] {
    const value = config.get<unknown>(key);
    if (!Array.isArray(value)) {
        return [];
    }
    return value.filter((v): v is string => typeof v === 'string' && v.trim() !== '');
}

function models(config: Config): ModelSettings {
    const result: ModelSettings = {
        fallbacks: strings(config, 'models.fallbacks'),
        editFormat: oneOf(config, 'models.editFormat', ['auto', 'udiff', 'whole', 'search_replace'], 'auto'),
    };
    // An empty name means "the server's default", so it is not sent at all.
    for (const role of [...MODEL_ROLES, 'embedding'] as const) {
        const name = str(config, `models.${role}`, '');
        if (name !== '') {
            result[role] = name;
        }
    }
    return result;
}

/** Maps the `greenpatch` configuration section to the server's settings object. */
export function toServerSettings(config: Config): ServerSettings {
    return {
        models: models(config),
        budget: { usd: num(config, 'budget.usd', 1.0), tokens: num(config, 'budget.tokens', 400000) },
        maxIterations: num(config, 'maxIterations', 4),
        approval: oneOf(config, 'approval', ['review', 'auto'], 'review'),
        sandbox: {
            backend: oneOf(config, 'sandbox.backend', ['auto', 'bwrap', 'docker', 'process'], 'auto'),
            timeoutS: num(config, 'sandbox.timeoutS', 120),
            dockerImage: str(config, 'sandbox.dockerImage', 'python:3.11-slim') || 'python:3.11-slim',
        },
        index: {
            enabled: bool(config, 'index.enabled', true),
            chromaUrl: str(config, 'index.chromaUrl', ''),
            maxVectors: num(config, 'index.maxVectors', 100000),
        },
        logLevel: oneOf(config, 'logLevel', ['debug', 'info', 'warning', 'error'], 'info'),
    };
}

/** Reads the settings only the extension uses. */
export function toExtensionSettings(config: Config): ExtensionSettings {
    return { interpreter: str(config, 'interpreter', ''), serverPath: str(config, 'serverPath', '') };
}

/**
 * The value of `section` (e.g. `greenpatch` or `greenpatch.models`) inside the server settings,
 * for answering workspace/configuration; undefined when the section is not ours.
 */
export function settingsSection(settings: ServerSettings, section: string): unknown {
    if (section === CONFIG_SECTION) {
        return settings;
    }
    if (!section.startsWith(`${CONFIG_SECTION}.`)) {
        return undefined;
    }
    let node: unknown = settings;
    for (const part of section.slice(CONFIG_SECTION.length + 1).split('.')) {
        if (typeof node !== 'object' || node === null) {
            return null;
        }
        node = (node as Record<string, unknown>)[part];
    }
    return node ?? null;
}

/** Every setting key whose change restarts the server (all but trace.server). */
export const SERVER_KEYS = [
    ...[...MODEL_ROLES, 'embedding', 'fallbacks', 'editFormat'].map((k) => `${CONFIG_SECTION}.models.${k}`),
    `${CONFIG_SECTION}.budget`,
    `${CONFIG_SECTION}.maxIterations`,
    `${CONFIG_SECTION}.approval`,
    `${CONFIG_SECTION}.sandbox`,
    `${CONFIG_SECTION}.index`,
    `${CONFIG_SECTION}.logLevel`,
    `${CONFIG_SECTION}.interpreter`,
    `${CONFIG_SECTION}.serverPath`,
];

/** Whether a configuration change should restart the server. */
export function needsRestart(event: Pick<vscode.ConfigurationChangeEvent, 'affectsConfiguration'>): boolean {
    return SERVER_KEYS.some((key) => event.affectsConfiguration(key));
}
