// A two-file proposal as the server sends it, and a fresh copy per test.
import type { Proposal } from '../common/protocol';

export function proposal(): Proposal {
    return {
        runId: 'r1',
        task: 'fix the failing test',
        files: [
            {
                path: 'calc/ops.py',
                uri: 'file:///ws/calc/ops.py',
                original: 'def add(a, b):\n    return a - b\n\n\ndef mul(a, b):\n    return a + b\n',
                proposed: 'def add(a, b):\n    return a + b\n\n\ndef mul(a, b):\n    return a * b\n',
                hunks: [
                    { index: 0, header: '@@ -1,2 +1,2 @@', startLine: 1, endLine: 2, accepted: null },
                    { index: 1, header: '@@ -5,2 +5,2 @@', startLine: 5, endLine: 6, accepted: null },
                ],
            },
            {
                path: 'README.md',
                uri: 'file:///ws/README.md',
                original: '# calc\n',
                proposed: '# calc\n\nAdds and multiplies.\n',
                hunks: [{ index: 0, header: '@@ -1 +1,3 @@', startLine: 1, endLine: 3, accepted: null }],
            },
        ],
        diff: '--- a/calc/ops.py\n+++ b/calc/ops.py\n',
        evidence: { before: '2 failed', after: '2 passed' },
        costUsd: 0.0123,
        iterations: 2,
    };
}
