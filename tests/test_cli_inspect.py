import json

from conftest import SAMPLE_BOOK, run_narrate

DIALOGUE = (
    '"Is it raining?" asked Anna.\n\n"Not yet," said Tom.\n\n"Then we walk."\n\n'
    '"We walk," he agreed.\n'
)


def test_attribute_json_lines_and_review(tmp_path):
    path = tmp_path / "d.txt"
    path.write_text(DIALOGUE, encoding="utf-8")
    result = run_narrate("attribute", path, "--json")
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["text"] for r in rows][:2] == ["Is it raining?", "Not yet,"]
    assert rows[0]["speaker"] == "Anna" and rows[1]["speaker"] == "Tom"
    assert DIALOGUE[rows[0]["start"] : rows[0]["end"]] == "Is it raining?"
    review = run_narrate("attribute", path, "--review", "--below", "1.01")
    assert review.returncode == 0
    assert f"{len(rows)} attributions below confidence 1.01" in review.stdout


def test_plan_json_is_the_stable_interface(tmp_path):
    result = run_narrate("plan", SAMPLE_BOOK, "--json", "--out", tmp_path)
    assert result.returncode == 0, result.stderr
    plan = json.loads(result.stdout)
    assert plan["title"] == "The Lighthouse Keeper's Ledger"
    assert [c["title"] for c in plan["chapters"]][0] == "Chapter 1: The Ledger"
    assert all(isinstance(c["words"], int) and c["words"] > 50 for c in plan["chapters"])
    assert set(plan) == {"title", "author", "chapters", "skipped", "defects"}
    assert plan["defects"] == []


def test_attribute_refuses_non_utf8(tmp_path):
    path = tmp_path / "latin.txt"
    path.write_bytes('"Café," said Zoë.'.encode("latin-1"))
    result = run_narrate("attribute", path, "--json")
    assert result.returncode == 1 and "not UTF-8" in result.stderr
    assert "Traceback" not in result.stderr
