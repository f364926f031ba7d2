"""patch: parse the diffs models write, apply exactly or refuse, normalise, turn into edits.
Pure functions over text; `cli.py` is the only module that touches the file system."""

from greenpatch.patch.edits import (
    DocumentEdit,
    EditStep,
    FileOperation,
    apply_text_edits,
    edit_plan,
    text_edits,
)
from greenpatch.patch.engine import apply_patch, rebase, reject_unless_ok
from greenpatch.patch.formats import from_whole_file, parse_search_replace, parse_whole_file
from greenpatch.patch.model import (
    FailureReason,
    FileChange,
    FileReport,
    HunkFailure,
    HunkReport,
    HunkView,
    PatchResult,
    TextEdit,
)
from greenpatch.patch.render import apply_hunks, split_hunks, unified_diff
from greenpatch.patch.safety import DEFAULT_LIMITS, Limits

__all__ = [
    "DEFAULT_LIMITS",
    "DocumentEdit",
    "EditStep",
    "FailureReason",
    "FileChange",
    "FileOperation",
    "FileReport",
    "HunkFailure",
    "HunkReport",
    "HunkView",
    "Limits",
    "PatchResult",
    "TextEdit",
    "apply_hunks",
    "apply_patch",
    "apply_text_edits",
    "edit_plan",
    "from_whole_file",
    "parse_search_replace",
    "parse_whole_file",
    "rebase",
    "reject_unless_ok",
    "split_hunks",
    "text_edits",
    "unified_diff",
]
