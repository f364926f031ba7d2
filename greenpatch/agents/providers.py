"""Our two LiteLLM custom providers.

- `local/<name>`: an embedded GGUF model run in-process by llama-cpp-python.
- `scripted/<path.json>` or `scripted/inline:<name>`: a deterministic model that replays
  scripted replies (and scripted failures), so the whole loop runs offline in milliseconds.

Both answer through `litellm.completion` like any remote model.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from greenpatch.errors import Cancelled

log = logging.getLogger(__name__)

_cancel = threading.local()


@contextlib.contextmanager
def cancellation(event: threading.Event) -> Iterator[None]:
    """Let an in-process model see the calling run's cancel flag while it generates."""
    previous = getattr(_cancel, "event", None)
    _cancel.event = event
    try:
        yield
    finally:
        _cancel.event = previous


def _cancelled() -> bool:
    event = getattr(_cancel, "event", None)
    return bool(event and event.is_set())


def was_cancelled(exc: BaseException) -> bool:
    """LiteLLM wraps what a custom provider raises; look through the wrapping."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, Cancelled) or "run cancelled" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def check_available(model: str) -> None:
    """Fail early, with the one command that fixes it, for a local model not pulled yet."""
    provider, _, name = model.partition("/")
    if provider == "local":
        from greenpatch.agents import local_models

        local_models.require(name)


def _usage_of(prompt: str, completion: str) -> dict[str, int]:
    # The scripted model has no tokenizer; four characters a token is the usual estimate.
    p, c = max(1, len(prompt) // 4), max(1, len(completion) // 4)
    return {"prompt_tokens": p, "completion_tokens": c, "total_tokens": p + c}


def _response(litellm: Any, model: str, text: str, usage: dict[str, int]) -> Any:
    return litellm.ModelResponse(
        model=model,
        choices=[
            {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
        ],
        usage=litellm.Usage(**usage),
    )


class ScriptedReplies:
    """Replies for `scripted/...` models, per script, in order.

    A script is a list of entries: a plain string (or `{"reply": ...}`, `{"error": kind}`,
    `{"sleep": s, "reply": ...}`) is for the roles that write edits (coder, debugger); an
    entry with `"role": R` is only for role R, one with `"match": TEXT` only for a call whose
    messages contain TEXT (how calls made at the same time get their own replies). A call
    takes the first unused entry it may take; a role with no entry left gets an error, as
    from a model that is down. Temperature is not looked at: the coder's samples (see
    `best_of`) take the next entries in turn, so a script lists them in the order asked.
    """

    EDIT_ROLES = ("coder", "debugger", "")
    _lock = threading.Lock()
    _inline: dict[str, list[Any]] = {}
    _used: dict[str, set[int]] = {}

    @classmethod
    def register(cls, name: str, replies: Sequence[Any]) -> str:
        """Register replies in memory; returns the model name to configure."""
        with cls._lock:
            cls._inline[name] = list(replies)
            cls._used[f"inline:{name}"] = set()
        return f"scripted/inline:{name}"

    @classmethod
    def used(cls) -> dict[str, set[int]]:
        """Which entries of which scripts this process has replayed. A server drives each
        run in a child process and hands this from one child to the next, so a script is
        replayed once per server session, as when runs shared the server's process."""
        with cls._lock:
            return {script: set(used) for script, used in cls._used.items()}

    @classmethod
    def restore(cls, used: dict[str, set[int]]) -> None:
        """Continue where `used()` of another process left off."""
        with cls._lock:
            for script, indices in used.items():
                cls._used.setdefault(script, set()).update(indices)

    @classmethod
    def next(cls, script: str, role: str = "", prompt: str = "") -> Any:
        with cls._lock:
            replies = cls._load(script)
            used = cls._used.setdefault(script, set())
            for index, entry in enumerate(replies):
                entry_dict = entry if isinstance(entry, dict) else {}
                owner = entry_dict.get("role", "")
                if index in used or str(entry_dict.get("match", "")) not in prompt:
                    continue
                if owner == role or (not owner and role in cls.EDIT_ROLES):
                    used.add(index)
                    return entry
            raise ValueError(f"scripted model {script!r} has no reply left for {role or 'any'}")

    @classmethod
    def _load(cls, script: str) -> list[Any]:
        if script.startswith("inline:"):
            return cls._inline.get(script[len("inline:") :], [])
        doc = json.loads(Path(script).read_text(encoding="utf-8"))
        replies = doc["replies"] if isinstance(doc, dict) else doc
        if not isinstance(replies, list):
            raise ValueError(f"{script}: expected a list of replies")
        return replies


_ERRORS = {
    "rate_limit": ("RateLimitError", 429),
    "server": ("InternalServerError", 500),
    "unavailable": ("ServiceUnavailableError", 503),
    "timeout": ("Timeout", 408),
    "connection": ("APIConnectionError", 500),
    "auth": ("AuthenticationError", 401),
    "bad_request": ("BadRequestError", 400),
}


def _scripted_error(litellm: Any, kind: str, model: str) -> Exception:
    name, _status = _ERRORS[kind]
    cls = getattr(litellm, name)
    return cls(message=f"scripted {kind} error", llm_provider="scripted", model=model)


def _make_handlers(litellm: Any) -> tuple[Any, Any]:
    from litellm.llms.custom_llm import CustomLLM

    class ScriptedLLM(CustomLLM):
        def completion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
            params = kwargs.get("litellm_params") or {}
            role = str((params.get("metadata") or {}).get("greenpatch_role", ""))
            prompt = "\n".join(str(m.get("content", "")) for m in messages)
            try:
                reply = ScriptedReplies.next(model.removeprefix("scripted/"), role, prompt)
            except (ValueError, OSError) as exc:  # out of replies: an error not worth retrying
                raise litellm.BadRequestError(
                    message=str(exc), model=model, llm_provider="scripted"
                ) from exc
            if isinstance(reply, dict) and "error" in reply:
                raise _scripted_error(litellm, reply["error"], model)
            if isinstance(reply, dict) and "sleep" in reply:
                deadline = time.monotonic() + float(reply["sleep"])
                while time.monotonic() < deadline:  # a slow model, still cancellable
                    if _cancelled():
                        raise Cancelled("run cancelled")
                    time.sleep(0.05)
                reply = reply.get("reply", "")
            if isinstance(reply, dict):
                reply = reply.get("reply", "")
            text = str(reply)
            return _response(litellm, model, text, _usage_of(prompt, text))

        async def acompletion(self, model: str, messages: list[Any], *a: Any, **kw: Any) -> Any:
            return self.completion(model, messages, *a, **kw)

    class LocalLLM(CustomLLM):
        def completion(self, model: str, messages: list[Any], *args: Any, **kwargs: Any) -> Any:
            from greenpatch.agents import local_models

            name = model.removeprefix("local/")
            params = kwargs.get("optional_params") or {}
            llm = local_models.load(name)
            with local_models.generation_lock(name):
                text, usage = _generate(llm, messages, params)
            return _response(litellm, model, text, usage)

        async def acompletion(self, model: str, messages: list[Any], *a: Any, **kw: Any) -> Any:
            return self.completion(model, messages, *a, **kw)

    return ScriptedLLM(), LocalLLM()


def _generate(llm: Any, messages: list[Any], params: dict[str, Any]) -> tuple[str, dict[str, int]]:
    """Stream tokens so a cancelled run stops generating within a token or two."""
    parts: list[str] = []
    stream = llm.create_chat_completion(
        messages=messages,
        temperature=float(params.get("temperature", 0.0) or 0.0),
        max_tokens=int(params.get("max_tokens", 2048) or 2048),
        stream=True,
    )
    for chunk in stream:
        if _cancelled():
            raise Cancelled("run cancelled")
        delta = chunk["choices"][0].get("delta", {})
        parts.append(delta.get("content") or "")
    text = "".join(parts)
    prompt_text = "\n".join(str(m.get("content", "")) for m in messages)
    prompt_tokens = len(llm.tokenize(prompt_text.encode("utf-8"), add_bos=False))
    completion_tokens = len(llm.tokenize(text.encode("utf-8"), add_bos=False)) if text else 0
    return text, {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
    }


def register(litellm: Any) -> None:
    """Add our providers to LiteLLM's map (idempotent)."""
    if any(item.get("provider") == "scripted" for item in litellm.custom_provider_map):
        return
    scripted, local = _make_handlers(litellm)
    litellm.custom_provider_map = [
        *litellm.custom_provider_map,
        {"provider": "scripted", "custom_handler": scripted},
        {"provider": "local", "custom_handler": local},
    ]
    from litellm.utils import custom_llm_setup

    custom_llm_setup()
    log.debug("registered LiteLLM providers: scripted, local (pid %s)", os.getpid())
