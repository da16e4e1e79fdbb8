"""benchmarks/run.py: the RESULTS.md section it writes, and a quick run of one benchmark."""

import importlib.util
import json
import os
import sys

import pytest

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def bench_run():
    spec = importlib.util.spec_from_file_location(
        "bench_run", os.path.join(REPO, "benchmarks", "run.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_write_results_md_keeps_prose_and_replaces_section(bench_run, tmp_path):
    path = tmp_path / "RESULTS.md"
    path.write_text("# Results\n\nHand-written prose.\n")
    bench_run.write_results_md(str(path), f"{bench_run.BEGIN}\nfirst\n{bench_run.END}\n")
    bench_run.write_results_md(str(path), f"{bench_run.BEGIN}\nsecond\n{bench_run.END}\n")
    text = path.read_text()
    assert "Hand-written prose." in text
    assert "second" in text and "first" not in text
    assert text.count(bench_run.BEGIN) == 1 and text.count(bench_run.END) == 1


def test_every_benchmark_script_is_registered_once(bench_run):
    names = [b.name for b in bench_run.BENCHMARKS]
    assert len(names) == len(set(names))
    scripts = {b.script() for b in bench_run.BENCHMARKS}
    on_disk = {
        f"benchmarks/{f}"
        for f in os.listdir(os.path.join(REPO, "benchmarks"))
        if f.startswith(("bench_", "gpu_")) and f.endswith((".py", ".sh"))
    }
    assert on_disk <= scripts, f"benchmarks not in run.py: {sorted(on_disk - scripts)}"


def test_unknown_benchmark_is_a_clear_error(bench_run):
    with pytest.raises(SystemExit, match="unknown benchmark"):
        bench_run.main(["--only", "no_such_bench"])


FAKE_BENCH = """
import json, sys
print("noise before the table")
print("| measure | ours | peer |")
print("| --- | --- | --- |")
print("| step | 1 ms | 3 ms |")
json.dump({"ours_ms": 1}, open(sys.argv[sys.argv.index("--json") + 1], "w"))
"""


def test_run_writes_table_json_and_environment(bench_run, tmp_path, monkeypatch):
    script = tmp_path / "bench_fake.py"
    script.write_text(FAKE_BENCH)
    broken = tmp_path / "bench_broken.py"
    broken.write_text("raise SystemExit('no GPU here')")
    fake = bench_run.Benchmark(
        "fake", "A fake benchmark", "a peer", [sys.executable, str(script), "--json", "{json}"]
    )
    failing = bench_run.Benchmark("broken", "Broken", "none", [sys.executable, str(broken)])
    monkeypatch.setattr(bench_run, "BENCHMARKS", [fake, failing])
    md = tmp_path / "RESULTS.md"
    args = ["--results_md", str(md), "--results_dir", str(tmp_path / "res")]
    code = bench_run.main(args)
    text = md.read_text()
    assert code == 1  # one benchmark failed
    assert "| step | 1 ms | 3 ms |" in text and "noise before" not in text
    assert "Not measured: failed" in text and "no GPU here" in text
    assert "torch" in text and "SpeechBrain" in text and "Date" in text
    run = json.loads((tmp_path / "res" / "run.json").read_text())
    assert run["results"]["fake"]["json"] == {"ours_ms": 1}
