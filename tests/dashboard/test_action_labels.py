"""Every action a case event can record has a label on screen: no developer names in the history."""

import re
from pathlib import Path

from dashboard.filters import ACTION_LABELS
from huiying import workdays, workflow

ROOT = Path(__file__).resolve().parents[2]
LITERAL = re.compile(r'\baction\s*=\s*"([a-z_]+)"')
CONSTANT = re.compile(r"\baction\s*=\s*([A-Z][A-Z_]+)\b")


def written_actions() -> set[str]:
    """The action names the code writes: the workflow's, and every `action=` in the core."""
    found = {str(a) for a in workflow.Action} | {str(a) for a in workflow.SystemAction} | {workflow.MERGED_IN}
    modules = {"workflow": workflow, "workdays": workdays}
    for path in (ROOT / "huiying").rglob("*.py"):
        source = path.read_text("utf-8")
        found.update(LITERAL.findall(source))
        for name in CONSTANT.findall(source):
            values = [getattr(m, name) for m in modules.values() if hasattr(m, name)]
            assert values, f"{path.name}: action={name} is not a constant this test can read"
            found.update(values)
    return found


def test_every_written_action_has_a_label():
    actions = written_actions()
    assert {"create", "assign", "calendar_missing", "calendar_due", "reply"} <= actions
    assert sorted(actions - set(ACTION_LABELS)) == []
