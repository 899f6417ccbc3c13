"""The guides say what the product does: their commands, parameters and permissions are the real ones."""

from __future__ import annotations

import json
import re
from pathlib import Path

from bot.routes import command_for

ROOT = Path(__file__).resolve().parents[2]


def table_rows(markdown: str, heading: str) -> list[list[str]]:
    """The rows of the first table from the line holding `heading` on (without its header and separator)."""
    section = markdown[markdown.rfind("\n", 0, markdown.index(heading)) + 1 :]
    rows = []
    for line in section.splitlines():
        if line.startswith("|"):
            rows.append([cell.strip() for cell in line.strip("|").split("|")])
        elif rows:
            break
    return rows[2:]


def test_every_command_in_the_user_guides_is_one_kambot_answers() -> None:
    for guide, heading in (("user.md", "## Commands"), ("user.de.md", "## Befehle")):
        rows = table_rows((ROOT / "docs" / guide).read_text(), heading)
        assert len(rows) >= 10
        for row in rows:
            for command in re.findall(r"`([^`]+)`", row[0]):
                typed = re.sub(r"\s*\[.*?\]", "", command).lower()
                assert command_for(typed) is not None, f"{guide}: {command!r} is not a command kambot knows"


def test_the_admin_guide_documents_every_bicep_parameter_and_no_secret_has_a_default() -> None:
    bicep = (ROOT / "deploy" / "azure" / "main.bicep").read_text()
    declared = dict(re.findall(r"^param (\w+) (\w+)", bicep, flags=re.M))
    documented = [row[0].strip("`") for row in table_rows((ROOT / "docs" / "admin.md").read_text(), "Parameters:")]
    assert sorted(documented) == sorted(declared)
    secure = re.findall(r"@secure\(\)\n(?:@.*\n)*param (\w+ \w+.*)$", bicep, flags=re.M)
    assert secure == ["postgresAdminPassword string"], "secrets are passed at deployment, never defaulted"
    parameters = (ROOT / "deploy" / "azure" / "main.bicepparam").read_text()
    assert "postgresAdminPassword" not in parameters.split("never written here.")[1]


def test_the_admin_guide_justifies_each_resource_specific_permission_the_package_asks_for() -> None:
    template = json.loads((ROOT / "deploy" / "manifest" / "manifest.template.json").read_text())
    asked = {p["name"] for p in template["authorization"]["permissions"]["resourceSpecific"]}
    rows = table_rows((ROOT / "docs" / "admin.md").read_text(), "| RSC permission |")
    justified = {row[0].strip("`"): row[1] for row in rows}
    assert set(justified) == asked
    assert all(len(reason) > 30 for reason in justified.values())
