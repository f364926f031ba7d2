"""Per-role identity: expertise, learned rules with use and success counts, past mistakes and
a version history with rollback, in `.greenpatch/identity.db`.

Identity is keyed by role, never by model, so swapping a role's model keeps what the role
learned. Rules come from reflection (`Identities.reflect`) and must pass quality gates: a rule
is short, general (names no file path or identifier of the task it came from) and not a
near-duplicate of a rule the role already has. Rules that are used often and rarely help are
pruned. Every change bumps the role's version and stores a snapshot, so any version can be
restored.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from greenpatch.agents.store import Database, state_dir
from greenpatch.errors import ModelError

if TYPE_CHECKING:
    from greenpatch.agents.gateway import Gateway

log = logging.getLogger(__name__)

MIN_RULE_CHARS = 20
MAX_RULE_CHARS = 200
MIN_RULE_WORDS = 4
DUPLICATE_JACCARD = 0.6
MAX_RULES = 30
MAX_MISTAKES = 20
MAX_VERSIONS = 200
MAX_REFLECT_RULES = 3
REFLECT_TRANSCRIPTS = 4
REFLECT_TRANSCRIPT_CHARS = 1500

DEFAULT_EXPERTISE = {
    "planner": "Breaks a coding task into small, testable steps and names the files involved.",
    "coder": "Writes minimal, correct changes in the requested edit format.",
    "tester": "Writes focused tests that pin down the requested behaviour.",
    "debugger": "Reads a failing test's output and changes the code that causes it.",
    "critic": "Reviews a green diff for correctness, scope and security.",
}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS roles (
    role TEXT PRIMARY KEY,
    expertise TEXT NOT NULL,
    version INTEGER NOT NULL DEFAULT 0,
    runs INTEGER NOT NULL DEFAULT 0,
    reflected_at INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS rules (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    uses INTEGER NOT NULL DEFAULT 0,
    successes INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    created_at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS rules_role ON rules (role, active);
CREATE TABLE IF NOT EXISTS mistakes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    role TEXT NOT NULL,
    text TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS versions (
    role TEXT NOT NULL,
    version INTEGER NOT NULL,
    at REAL NOT NULL,
    change TEXT NOT NULL,
    snapshot TEXT NOT NULL,
    PRIMARY KEY (role, version)
);
"""

_EXTENSIONS = "py|pyi|js|jsx|ts|tsx|json|toml|ya?ml|cfg|ini|txt|md|rs|go|java|c|h|cc|cpp|rb|sh"
_PATH = re.compile(rf"\b[\w.-]+\.(?:{_EXTENSIONS})\b|[\w.-]*/[\w.-]+/[\w.-]+")
_BULLET = re.compile(r"^\s*(?:[-*\u2022]|\d+[.)])\s+")
_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset(
    {"a", "an", "and", "be", "for", "in", "is", "of", "or", "the", "to", "when", "with"}
)


@dataclass(frozen=True)
class Rule:
    id: int
    role: str
    text: str
    uses: int
    successes: int
    created_at: float

    @property
    def success_rate(self) -> float:
        return self.successes / self.uses if self.uses else 0.0

    @property
    def score(self) -> float:
        """Laplace-smoothed success rate: a new rule starts at 0.5, evidence moves it."""
        return (self.successes + 1) / (self.uses + 2)


@dataclass(frozen=True)
class Identity:
    role: str
    version: int
    expertise: str
    rules: tuple[Rule, ...]
    mistakes: tuple[str, ...]


@dataclass(frozen=True)
class Version:
    role: str
    version: int
    at: float
    change: str


def normalise_rule(text: str) -> str:
    """A candidate without its bullet, quotes and extra whitespace."""
    text = _BULLET.sub("", text.strip())
    return " ".join(text.strip("\"'`").split())


def _tokens(text: str) -> set[str]:
    return set(_WORD.findall(text.lower())) - _STOPWORDS


def jaccard(a: str, b: str) -> float:
    """Token Jaccard similarity of two texts (stopwords ignored)."""
    ta, tb = _tokens(a), _tokens(b)
    return len(ta & tb) / len(ta | tb) if ta | tb else 1.0


def check_rule(text: str, existing: Iterable[str], task_terms: Iterable[str] = ()) -> str:
    """Why `text` is not a usable rule, or "" when it passes every gate."""
    if len(text) < MIN_RULE_CHARS or len(text.split()) < MIN_RULE_WORDS:
        return "too short"
    if len(text) > MAX_RULE_CHARS:
        return "too long"
    if _PATH.search(text):
        return "names a file path"
    for term in task_terms:
        term = term.strip()
        if len(term) >= 3 and re.search(rf"(?<![\w.]){re.escape(term)}(?![\w])", text):
            return f"names {term!r} from its task"
    for other in existing:
        if jaccard(text, other) >= DUPLICATE_JACCARD:
            return f"duplicates {other!r}"
    return ""


def parse_rules(reply: str, limit: int = MAX_REFLECT_RULES) -> list[str]:
    """The `- ` lines of a reflection reply, at most `limit`."""
    lines = [line for line in reply.splitlines() if line.lstrip().startswith(("- ", "* "))]
    return [normalise_rule(line) for line in lines][:limit]


def prompt_section(identity: Identity, rules: Sequence[Rule]) -> str:
    """The identity as a system-prompt section: expertise, rules to follow, mistakes."""
    parts = [identity.expertise] if identity.expertise else []
    if rules:
        parts.append("Rules learned from earlier runs:\n" + "\n".join(f"- {r.text}" for r in rules))
    if identity.mistakes:
        recent = identity.mistakes[-5:]
        parts.append("Mistakes made before, avoid them:\n" + "\n".join(f"- {m}" for m in recent))
    return "\n\n".join(parts)


def _rule(row: sqlite3.Row | dict[str, Any], role: str) -> Rule:
    return Rule(row["id"], role, row["text"], row["uses"], row["successes"], row["created_at"])


def _order(rules: Iterable[Rule]) -> list[Rule]:
    return sorted(rules, key=lambda r: (-r.score, -r.uses, r.id))


class Identities:
    """The identities of every role in one workspace."""

    def __init__(self, workspace: Path) -> None:
        self.path = state_dir(workspace) / "identity.db"
        self._db = Database(self.path, _SCHEMA)

    def close(self) -> None:
        """Release the database connections."""
        self._db.close()

    # -- reading --------------------------------------------------------------------------

    def roles(self) -> list[str]:
        """The roles that have an identity here, by name."""
        rows = self._db.read().execute("SELECT role FROM roles ORDER BY role").fetchall()
        return [r["role"] for r in rows]

    def get(self, role: str) -> Identity:
        """The role's identity (created with its default expertise on first use)."""
        self._ensure(role)
        with self._db.snapshot() as db:
            row = db.execute("SELECT * FROM roles WHERE role = ?", (role,)).fetchone()
            mistakes = db.execute("SELECT text FROM mistakes WHERE role = ? ORDER BY id", (role,))
            return Identity(
                role,
                row["version"],
                row["expertise"],
                tuple(self._active(db, role)),
                tuple(m["text"] for m in mistakes.fetchall()),
            )

    def _active(self, db: sqlite3.Connection, role: str) -> list[Rule]:
        rows = db.execute("SELECT * FROM rules WHERE role = ? AND active = 1", (role,))
        return _order(_rule(r, role) for r in rows.fetchall())

    def rules_for(self, role: str, limit: int = 5) -> list[Rule]:
        """The role's active rules, best first."""
        return self._active(self._db.read(), role)[:limit]

    def history(self, role: str) -> list[Version]:
        """Every version of the role, oldest first."""
        rows = self._db.read().execute(
            "SELECT version, at, change FROM versions WHERE role = ? ORDER BY version", (role,)
        )
        return [Version(role, r["version"], r["at"], r["change"]) for r in rows.fetchall()]

    def due(self, role: str, every: int = 5) -> bool:
        """Whether the role has had `every` runs since it last reflected."""
        row = (
            self._db.read()
            .execute("SELECT runs, reflected_at FROM roles WHERE role = ?", (role,))
            .fetchone()
        )
        return row is not None and row["runs"] - row["reflected_at"] >= every

    # -- changing -------------------------------------------------------------------------

    def _ensure(self, role: str) -> None:
        if self._db.read().execute("SELECT 1 FROM roles WHERE role = ?", (role,)).fetchone():
            return
        with self._db.write() as db:
            created = db.execute(
                "INSERT OR IGNORE INTO roles (role, expertise) VALUES (?, ?)",
                (role, DEFAULT_EXPERTISE.get(role, "")),
            )
            if created.rowcount:
                self._bump(db, role, "created")

    def _bump(self, db: sqlite3.Connection, role: str, change: str) -> int:
        """Record a new version with a snapshot of the role as it now is."""
        db.execute("UPDATE roles SET version = version + 1 WHERE role = ?", (role,))
        row = db.execute("SELECT version, expertise FROM roles WHERE role = ?", (role,)).fetchone()
        rules = db.execute(
            "SELECT id, text, uses, successes, created_at FROM rules"
            " WHERE role = ? AND active = 1 ORDER BY id",
            (role,),
        )
        mistakes = db.execute(
            "SELECT id, text, at FROM mistakes WHERE role = ? ORDER BY id", (role,)
        )
        snapshot = {
            "expertise": row["expertise"],
            "rules": [dict(r) for r in rules.fetchall()],
            "mistakes": [dict(m) for m in mistakes.fetchall()],
        }
        version = int(row["version"])
        db.execute(
            "INSERT INTO versions (role, version, at, change, snapshot) VALUES (?, ?, ?, ?, ?)",
            (role, version, time.time(), change, json.dumps(snapshot)),
        )
        db.execute(
            "DELETE FROM versions WHERE role = ? AND version <= ?", (role, version - MAX_VERSIONS)
        )
        return version

    def set_expertise(self, role: str, text: str) -> int:
        """Replace the role's expertise text; returns the new version."""
        self._ensure(role)
        with self._db.write() as db:
            db.execute("UPDATE roles SET expertise = ? WHERE role = ?", (text.strip(), role))
            return self._bump(db, role, "expertise changed")

    def record_outcome(self, role: str, rule_ids: Iterable[int], success: bool) -> None:
        """Count one run of the role: the rules it was given were used, and helped or not.
        Call once per run per role (it also drives `due`)."""
        self._ensure(role)
        ids = list(dict.fromkeys(rule_ids))
        with self._db.write() as db:
            db.execute("UPDATE roles SET runs = runs + 1 WHERE role = ?", (role,))
            if not ids:
                return
            marks = ",".join("?" * len(ids))
            db.execute(
                f"UPDATE rules SET uses = uses + 1, successes = successes + ?"
                f" WHERE role = ? AND id IN ({marks})",
                (int(success), role, *ids),
            )
            self._bump(db, role, f"{'success' if success else 'failure'} with rules {ids}")

    def add_mistake(self, role: str, text: str) -> bool:
        """Remember a mistake the role made (the latest MAX_MISTAKES are kept)."""
        text = " ".join(text.split())[:300]
        if not text:
            return False
        self._ensure(role)
        with self._db.write() as db:
            seen = db.execute(
                "SELECT 1 FROM mistakes WHERE role = ? AND text = ?", (role, text)
            ).fetchone()
            if seen:
                return False
            db.execute(
                "INSERT INTO mistakes (role, text, at) VALUES (?, ?, ?)", (role, text, time.time())
            )
            db.execute(
                "DELETE FROM mistakes WHERE role = ? AND id NOT IN"
                " (SELECT id FROM mistakes WHERE role = ? ORDER BY id DESC LIMIT ?)",
                (role, role, MAX_MISTAKES),
            )
            self._bump(db, role, "mistake added")
        return True

    def propose_rules(
        self, role: str, candidates: Iterable[str], task_terms: Iterable[str] = ()
    ) -> list[Rule]:
        """Add the candidates that pass the quality gates; returns the rules added."""
        self._ensure(role)
        terms = [t for t in task_terms if t]
        added: list[Rule] = []
        with self._db.write() as db:
            existing = [r.text for r in self._active(db, role)]
            for candidate in candidates:
                text = normalise_rule(candidate)
                reason = check_rule(text, existing, terms)
                if not reason and len(existing) >= MAX_RULES:
                    reason = f"the role already has {MAX_RULES} rules"
                if reason:
                    log.info("rule for %s rejected (%s): %s", role, reason, text[:120])
                    continue
                now = time.time()
                cur = db.execute(
                    "INSERT INTO rules (role, text, created_at) VALUES (?, ?, ?)", (role, text, now)
                )
                added.append(Rule(int(cur.lastrowid or 0), role, text, 0, 0, now))
                existing.append(text)
            if added:
                self._bump(db, role, f"added rules {[r.id for r in added]}")
        return added

    def prune(
        self, min_uses: int = 5, max_success_rate: float = 0.2, role: str | None = None
    ) -> list[Rule]:
        """Retire rules used at least `min_uses` times that helped at most
        `max_success_rate` of the time (of every role, or of `role`)."""
        pruned: list[Rule] = []
        with self._db.write() as db:
            rows = db.execute(
                "SELECT * FROM rules WHERE active = 1 AND uses >= ? AND (? IS NULL OR role = ?)",
                (min_uses, role, role),
            ).fetchall()
            weak = [_rule(r, r["role"]) for r in rows]
            weak = [r for r in weak if r.success_rate <= max_success_rate]
            for name in sorted({r.role for r in weak}):
                ids = [r.id for r in weak if r.role == name]
                marks = ",".join("?" * len(ids))
                db.execute(f"UPDATE rules SET active = 0 WHERE id IN ({marks})", ids)
                self._bump(db, name, f"pruned rules {ids}")
                pruned += [r for r in weak if r.role == name]
        for rule in pruned:
            log.info("pruned %s rule %d (%d/%d): %s", rule.role, rule.id, rule.successes,
                     rule.uses, rule.text)  # fmt: skip
        return pruned

    def rollback(self, role: str, version: int) -> Identity:
        """Restore the role as it was at `version` (recorded as a new version)."""
        with self._db.write() as db:
            row = db.execute(
                "SELECT snapshot FROM versions WHERE role = ? AND version = ?", (role, version)
            ).fetchone()
            if row is None:
                raise KeyError(f"{role} has no version {version} (see history)")
            snap = json.loads(row["snapshot"])
            db.execute("UPDATE roles SET expertise = ? WHERE role = ?", (snap["expertise"], role))
            db.execute("UPDATE rules SET active = 0 WHERE role = ?", (role,))
            db.executemany(
                "INSERT OR REPLACE INTO rules (id, role, text, uses, successes, active,"
                " created_at) VALUES (:id, :role, :text, :uses, :successes, 1, :created_at)",
                [{**r, "role": role} for r in snap["rules"]],
            )
            db.execute("DELETE FROM mistakes WHERE role = ?", (role,))
            db.executemany(
                "INSERT INTO mistakes (id, role, text, at) VALUES (:id, :role, :text, :at)",
                [{**m, "role": role} for m in snap["mistakes"]],
            )
            self._bump(db, role, f"rolled back to version {version}")
        return self.get(role)

    # -- reflection -----------------------------------------------------------------------

    def reflect(
        self,
        role: str,
        gateway: Gateway,
        transcripts: Sequence[str],
        task_terms: Iterable[str] = (),
    ) -> list[Rule]:
        """Ask the role's model for at most three general rules learned from recent runs
        (`transcripts`: short accounts, e.g. `transcript.digest`) and keep those that pass
        the gates. A model that fails costs the reflection, never the run."""
        from greenpatch.agents.role import render

        identity = self.get(role)
        recent = [t[:REFLECT_TRANSCRIPT_CHARS] for t in transcripts[-REFLECT_TRANSCRIPTS:]]
        prompt = render(
            "reflect",
            role=role,
            expertise=identity.expertise or "(none)",
            rules="\n".join(f"- {r.text}" for r in identity.rules) or "(none yet)",
            mistakes="\n".join(f"- {m}" for m in identity.mistakes[-5:]) or "(none)",
            transcripts="\n\n".join(f"Run {i}:\n{t}" for i, t in enumerate(recent, 1)),
            limit=str(MAX_REFLECT_RULES),
        )
        self._mark_reflected(role)
        try:
            reply = gateway.complete(role, [{"role": "user", "content": prompt}], max_tokens=300)
        except ModelError as exc:
            log.warning("%s could not reflect: %s", role, exc)
            return []
        return self.propose_rules(role, parse_rules(reply.text), task_terms)

    def _mark_reflected(self, role: str) -> None:
        with self._db.write() as db:
            db.execute("UPDATE roles SET reflected_at = runs WHERE role = ?", (role,))
