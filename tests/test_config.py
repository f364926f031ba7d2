from pathlib import Path

from greenpatch.config import Settings, load_settings, settings_schema


def write(path: Path, text: str) -> None:
    path.write_text(text, encoding="utf-8")


def test_defaults_when_nothing_is_set(tmp_path: Path) -> None:
    loaded = load_settings(tmp_path, environ={})
    assert loaded.settings == Settings()
    assert loaded.problems == ()


def test_layers_override_in_order(tmp_path: Path) -> None:
    write(
        tmp_path / "pyproject.toml",
        """
[tool.greenpatch]
max_iterations = 2
approval = "auto"
[tool.greenpatch.models]
coder = "from-pyproject"
planner = "from-pyproject"
critic = "from-pyproject"
[tool.greenpatch.budget]
usd = 0.5
""",
    )
    write(
        tmp_path / ".greenpatch.toml", 'max_iterations = 3\n[models]\nplanner = "from-dot-file"\n'
    )
    env = {
        "GREENPATCH_MODELS__CODER": "from-env",
        "GREENPATCH_MAX_ITERATIONS": "5",
        "GREENPATCH_BUDGET__TOKENS": "1000",
        "OTHER": "x",
    }
    editor = {"maxIterations": 7, "models": {"critic": "from-editor", "editFormat": "whole"}}
    s = load_settings(tmp_path, environ=env, editor=editor).settings
    assert s.max_iterations == 7  # editor beats env beats .greenpatch.toml beats pyproject
    assert s.models.coder == "from-env"
    assert s.models.planner == "from-dot-file"
    assert s.models.critic == "from-editor"
    assert s.models.edit_format == "whole"
    assert s.approval == "auto"
    assert s.budget.usd == 0.5 and s.budget.tokens == 1000


def test_model_shorthand_and_lists_from_env(tmp_path: Path) -> None:
    env = {"GREENPATCH_MODEL": "gpt-4o-mini", "GREENPATCH_MODELS__FALLBACKS": "a/b, c/d"}
    s = load_settings(tmp_path, environ=env).settings
    assert s.models.default == "gpt-4o-mini"
    assert s.model_for("debugger") == "gpt-4o-mini"
    assert s.models.fallbacks == ("a/b", "c/d")


def test_invalid_values_are_named_and_defaults_apply(tmp_path: Path) -> None:
    env = {
        "GREENPATCH_SANDBOX__BACKEND": "chroot",
        "GREENPATCH_MAX_ITERATIONS": "many",
        "GREENPATCH_BUDGET__USD": "-1",
        "GREENPATCH_INDEX__ENABLED": "maybe",
    }
    loaded = load_settings(tmp_path, environ=env, editor={"colour": "green", "models": "x"})
    s = loaded.settings
    assert s.sandbox.backend == "auto"
    assert s.max_iterations == Settings().max_iterations
    assert s.budget.usd == Settings().budget.usd
    assert s.index.enabled is True
    text = "\n".join(loaded.problems)
    assert "'sandbox.backend': 'chroot' is not one of auto, bwrap, docker, process" in text
    assert "'max_iterations': 'many' is not an integer" in text
    assert "'budget.usd'" in text and "negative" in text
    assert "'index.enabled'" in text
    assert "unknown setting 'colour'" in text
    assert "'models' must be a table" in text


def test_unreadable_toml_is_reported_not_fatal(tmp_path: Path) -> None:
    write(tmp_path / ".greenpatch.toml", "max_iterations = [")
    loaded = load_settings(tmp_path, environ={})
    assert loaded.settings == Settings()
    assert any(".greenpatch.toml" in p for p in loaded.problems)


def test_schema_lists_every_leaf() -> None:
    schema = settings_schema()
    assert schema["models.coder"] == ""
    assert schema["sandbox.backend"] == "auto"
    assert schema["approval"] == "review"


def test_other_variables_with_the_prefix_are_not_settings(tmp_path: Path) -> None:
    env = {"GREENPATCH_MODEL_DIR": "/models", "GREENPATCH_WORKSPACE": "x"}
    loaded = load_settings(tmp_path, environ=env)
    assert loaded.settings == Settings() and loaded.problems == ()
