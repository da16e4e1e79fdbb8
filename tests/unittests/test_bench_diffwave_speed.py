"""benchmarks/bench_diffwave_speed.py --quick: runs at tiny sizes and writes its JSON."""

import json
import os
import subprocess
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_quick_run_writes_table_and_json(tmp_path):
    out = tmp_path / "speed.json"
    proc = subprocess.run(
        [
            sys.executable,
            "benchmarks/bench_diffwave_speed.py",
            "--quick",
            "--device",
            "cpu",
            "--json",
            str(out),
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "| train step fp32" in proc.stdout and "fast schedule, 6 steps" in proc.stdout
    result = json.loads(out.read_text())
    assert result["params_M"]["ours"] == result["params_M"]["peer"]  # same architecture size
    for key in ("ours_fp32", "ours_bf16", "peer_fp32", "peer_bf16"):
        assert result["train"][key]["ms"] > 0
    sampling = result["sampling"]
    assert sampling["peer_ddpm_200"]["extrapolated"] is True
    assert sampling["ours_fast_6"]["steps"] == 6 and sampling["ours_fast_6"]["rtf"] > 0
    assert sampling["ours_ddpm"]["steps"] == 10
