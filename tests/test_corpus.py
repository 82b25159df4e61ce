"""~4,900 files from projects that do not use Celery: no crash, and no Celery rule fires."""

from __future__ import annotations

import json

from conftest import cli


def test_foreign_corpus_is_quiet_and_crash_free(shared):
    result = cli("check", "--format", "json", str(shared / "corpus" / "foreign"))
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    data = json.loads(result.stdout)
    # every file is read: checked as a carrier, or listed as skipped (not one silently)
    skipped = {s["path"] for s in data["summary"]["skipped"]
               if s["reason"].startswith("YAML that is neither")}
    assert data["summary"]["files"] > 3000 and data["summary"]["files"] + len(skipped) > 4800
    celery_findings = [d for d in data["diagnostics"]
                       if d["name"] not in ("parse-error", "invalid-manifest", "invalid-compose-file")]
    assert celery_findings == []
