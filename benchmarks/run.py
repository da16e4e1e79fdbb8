#!/usr/bin/env python3
"""Run every benchmark the recipes define and write the tables into ``benchmarks/RESULTS.md``.

Each benchmark is a script that times (or scores) ours beside its peer in the same process or
call (SpeechBrain's own lobes where one exists), prints one markdown table on stdout, and
writes its raw numbers with ``--json PATH``. This entry point runs the selected ones, keeps
their tables and JSON, and rewrites the section of ``RESULTS.md`` between the two markers
below with the device, library versions and date; hand-written prose outside the markers is
kept.

Usage
-----
python benchmarks/run.py --list
python benchmarks/run.py                       # every speed benchmark (GPU recommended)
python benchmarks/run.py --only spectrogram_speed diffwave_speed
python benchmarks/run.py --quality             # also the quality runs (train + sample + score)
python benchmarks/run.py --quick --results_md /tmp/R.md   # tiny sizes, a CPU smoke run
"""

import argparse
import dataclasses
import datetime
import json
import os
import platform
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
BEGIN = "<!-- benchmarks/run.py: begin (generated; edits here are overwritten) -->"
END = "<!-- benchmarks/run.py: end -->"


@dataclasses.dataclass
class Benchmark:
    """One benchmark: a command that prints a markdown table and writes ``--json``.

    Arguments
    ---------
    name : str
        Short key used by ``--only``.
    title : str
        Section title in RESULTS.md.
    peer : str
        What ours is compared with.
    command : list of str
        Command line, relative to the repository root; ``{json}`` and ``{out}`` are
        replaced by the JSON path and a scratch folder.
    quick_args : list of str
        Extra arguments for ``--quick`` (tiny sizes, CPU); None = no quick mode (skipped).
    kind : str
        "speed" (run by default) or "quality" (run with ``--quality``; trains models).
    """

    name: str
    title: str
    peer: str
    command: list
    quick_args: list = None
    kind: str = "speed"

    def script(self):
        """The path of the script this benchmark runs (to check it exists)."""
        return next((a for a in self.command if a.endswith((".py", ".sh"))), self.command[0])


BENCHMARKS = [
    Benchmark(
        "spectrogram_speed",
        "AudioMNIST spectrogram DDPM: training step and sampling speed",
        "SpeechBrain UNetModel + DenoisingDiffusion (AudioMNIST recipe size)",
        [sys.executable, "benchmarks/bench_spectrogram_speed.py", "--compile", "--json", "{json}"],
        quick_args=["--quick"],
    ),
    Benchmark(
        "diffwave_speed",
        "SC09 DiffWave: training step and sampling speed",
        "SpeechBrain DiffWave lobe at paper size",
        [sys.executable, "benchmarks/bench_diffwave_speed.py", "--json", "{json}"],
        quick_args=["--quick"],
    ),
    Benchmark(
        "diffwave_compile_modes",
        "SC09 DiffWave: training step per torch.compile mode",
        "SpeechBrain DiffWave lobe at paper size (bf16)",
        [sys.executable, "benchmarks/bench_diffwave_compile_modes.py", "--json", "{json}"],
        quick_args=["--quick", "--modes", "default", "--variants", "plain,cat,per_layer"],
    ),
    Benchmark(
        "dilated_kernels",
        "DiffWave dilated convolution, one layer: Triton implicit-GEMM kernels per tile",
        "cuBLAS on the concatenated shifted copies (plus making / summing them)",
        [sys.executable, "benchmarks/bench_dilated_kernels.py", "--json", "{json}"],
        quick_args=["--quick"],
    ),
    Benchmark(
        "make_corpus",
        "Synthetic corpus builder: digits, 40 voices x 10 digits x 10 repetitions",
        "none (goal: under a minute on 2 CPU cores)",
        [sys.executable, "benchmarks/bench_make_corpus.py", "--json", "{json}"],
        quick_args=["--quick"],
    ),
    Benchmark(
        "audiomnist_quality",
        "AudioMNIST digit-conditioned spectrogram DDPM: train, sample, score",
        "the scoring classifier's accuracy on real test clips",
        ["bash", "benchmarks/gpu_audiomnist_run.sh", "{out}", "digit", "7.3"],
        kind="quality",
    ),
    Benchmark(
        "uncond_quality",
        "AudioMNIST unconditional vs digit-conditioned at the same GPU budget: IS, NDB/K, FID",
        "the digit-conditioned model and the Griffin-Lim round trip of the real test split",
        ["bash", "benchmarks/gpu_uncond_run.sh", "{out}"],
        kind="quality",
    ),
    Benchmark(
        "first_run_cpu",
        "The README's main job on a fresh clone, 2 CPU cores: time, then 100 samples scored",
        "the goal: 80% of 100+ samples recognised, in at most 10 minutes",
        ["bash", "benchmarks/cpu_first_run.sh", "{out}"],
        kind="quality",
    ),
    Benchmark(
        "latent_quality",
        "AudioMNIST latent diffusion: train, sample, score, sampling time",
        "the spectrogram-space model",
        ["bash", "benchmarks/gpu_latent_run.sh", "{out}"],
        kind="quality",
    ),
    Benchmark(
        "latent_speed",
        "AudioMNIST latent vs spectrogram-space diffusion: sampling time per sample",
        "the spectrogram-space U-Net at the GPU size (same sampler, steps, guidance)",
        [
            sys.executable,
            "benchmarks/bench_latent_speed.py",
            "results/gpu_latent",
            "--json",
            "{json}",
        ],
        kind="quality",  # needs the experiment trained by latent_quality
    ),
    Benchmark(
        "sc09_quality",
        "SC09-style digit-conditioned DiffWave on FSDD 16 kHz: train, sample, score",
        "the scoring classifier's accuracy on real test clips",
        ["bash", "benchmarks/gpu_sc09_run.sh", "{out}"],
        kind="quality",
    ),
    Benchmark(
        "sc09_compare",
        "SC09-style DiffWave: paper-like and patch-4 configurations side by side, then scored",
        "each other (same wall time, one GPU)",
        [
            "bash",
            "benchmarks/gpu_sc09_compare.sh",
            "{out}",
            "7.0",
            "p1c128|hparams/diffwave.yaml|--residual_channels 128 --residual_layers 30 "
            "--dilation_cycle 10 --batch_size 32 --lr 0.0004 --ema_warmup_steps 5000 --compile "
            "--compile_module_keys model",
            "p4c256|hparams/diffwave.yaml|--patch_size 4 --residual_channels 256 "
            "--residual_layers 30 --dilation_cycle 10 --batch_size 32 --lr 0.0004 "
            "--ema_warmup_steps 5000 --compile "
            "--compile_module_keys model",
        ],
        kind="quality",
    ),
    Benchmark(
        "vocoder_speed",
        "LJSpeech diffusion vocoders: real-time factor at batch 1, 6 and 50 steps",
        "SpeechBrain DiffWave lobe + DiffWaveDiffusion at the same size (30 x 64, T = 50)",
        [sys.executable, "benchmarks/bench_vocoder_speed.py", "--json", "{json}"],
        quick_args=["--quick", "--no_compile"],
    ),
    Benchmark(
        "vocoder_quality",
        "LJSpeech vocoders: DiffWave, PriorGrad, SpecGrad (same budget) and Griffin-Lim on the "
        "20 held-out clips",
        "Griffin-Lim on the same mels; SpeechBrain's DiffWave lobe for speed",
        ["bash", "benchmarks/gpu_vocoder_run.sh", "{out}", "3.5"],
        kind="quality",
    ),
    Benchmark(
        "vocoder_cpu_compare",
        "LJSpeech vocoders at CPU scale: DiffWave, PriorGrad, SpecGrad (same steps) and "
        "Griffin-Lim on the 20 held-out clips",
        "Griffin-Lim on the same mels",
        ["bash", "benchmarks/cpu_vocoder_compare.sh", "{out}"],
        quick_args=["--quick"],
        kind="quality",
    ),
    Benchmark(
        "fsdd_vocoder_quality",
        "The AudioMNIST digit model's samples through the FSDD vocoder: classifier scores",
        "the same samples through Griffin-Lim",
        ["bash", "benchmarks/gpu_fsdd_vocoder_run.sh", "{out}", "6"],
        kind="quality",
    ),
    Benchmark(
        "sgram_quality",
        "LJSpeech sentence-spectrogram DDPM: train, 200 samples, frame FD / 2-8 Hz modulation "
        "share / memorisation ratio",
        "held-out and validation real crops; real frames in shuffled order",
        ["bash", "benchmarks/gpu_sgram_run.sh", "{out}", "4.5"],
        kind="quality",
    ),
    Benchmark(
        "speaker_encoder_quality",
        "ECAPA-TDNN speaker encoder: EER and closest-speaker identification on the 5 held-out "
        "speechocean762 speakers",
        "an untrained encoder (about 47% EER)",
        ["bash", "benchmarks/gpu_speaker_encoder.sh", "{out}", "2", "results/gpu_speaker_encoder"],
        kind="quality",
    ),
    Benchmark(
        "tts_quality",
        "Conditional diffusion TTS: FSDD phoneme / VC / sentence routes and speechocean762, "
        "digit and speaker accuracy, guidance sweep, held-out speaker similarity",
        "real clips scored by the same classifier and speaker encoder",
        ["bash", "benchmarks/gpu_tts_run.sh", "{out}", "4.5"],
        kind="quality",
    ),
    Benchmark(
        "ddp_quality",
        "Multi-GPU (SpeechBrain DDP): AudioMNIST and SC09 DiffWave on 1 vs 2 GPUs, equal steps",
        "the same recipe on one GPU (goals: >= 1.8x samples/s, the same digit accuracy)",
        ["bash", "benchmarks/gpu_ddp_run.sh", "{out}"],
        kind="quality",  # needs 2 GPUs (nvidia-h200-x2)
    ),
]


def environment():
    """Device, library versions and date for the RESULTS.md header."""
    info = {"date": datetime.date.today().isoformat(), "python": platform.python_version()}
    try:
        import torch

        info["torch"] = torch.__version__
        info["device"] = (
            torch.cuda.get_device_name() if torch.cuda.is_available() else "CPU"
        ) + f" ({os.cpu_count()} CPU cores)"
    except ImportError:
        info["device"] = f"CPU ({os.cpu_count()} cores)"
    for lib in ("torchaudio", "speechbrain"):
        try:
            info[lib] = __import__(lib).__version__
        except Exception:  # a missing library is reported, not fatal
            info[lib] = "not installed"
    return info


def markdown_tables(text):
    """The markdown table lines (``| ... |``) printed by a benchmark.

    Example
    -------
    >>> markdown_tables("hello\\n| a | b |\\n|---|---|\\n| 1 | 2 |\\nbye")
    ['| a | b |', '|---|---|', '| 1 | 2 |']
    """
    return [line.rstrip() for line in text.splitlines() if line.lstrip().startswith("|")]


def run_benchmark(bench, results_dir, quick, timeout):
    """Run one benchmark; returns a dict with status, seconds, table lines and JSON."""
    json_path = os.path.join(results_dir, f"{bench.name}.json")
    out_dir = os.path.join(results_dir, bench.name)
    os.makedirs(out_dir, exist_ok=True)
    if not os.path.exists(os.path.join(REPO, bench.script())):
        return {"status": "missing", "detail": f"{bench.script()} does not exist yet"}
    cmd = [a.replace("{json}", json_path).replace("{out}", out_dir) for a in bench.command]
    if quick:
        cmd += bench.quick_args
    start = time.time()
    try:
        proc = subprocess.run(
            cmd, cwd=REPO, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return {"status": "timeout", "detail": f"over {timeout} s", "seconds": timeout}
    seconds = time.time() - start
    with open(os.path.join(results_dir, f"{bench.name}.log"), "w", encoding="utf-8") as f:
        f.write(proc.stdout + "\n--- stderr ---\n" + proc.stderr)
    result = {"seconds": round(seconds, 1), "table": markdown_tables(proc.stdout)}
    if proc.returncode != 0:
        tail = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or [""]
        result.update(status="failed", detail=f"exit {proc.returncode}: {tail[0][:200]}")
        return result
    result["status"] = "ok"
    if os.path.isfile(json_path):
        with open(json_path, encoding="utf-8") as f:
            result["json"] = json.load(f)
    return result


def render(env, benches, results, quick):
    """The generated RESULTS.md section (markdown)."""
    lines = [BEGIN, "", "## Latest `benchmarks/run.py` run", ""]
    lines.append(
        f"Date {env['date']}; device {env['device']}; Python {env['python']}, "
        f"torch {env.get('torch')}, torchaudio {env.get('torchaudio')}, "
        f"SpeechBrain {env.get('speechbrain')}."
        + (" **Quick mode: tiny sizes, the numbers are a smoke test only.**" if quick else "")
    )
    for bench in benches:
        res = results[bench.name]
        lines += ["", f"### {bench.title}", "", f"Peer: {bench.peer}. "]
        cmd = " ".join(a for a in bench.command if a != sys.executable)
        lines[-1] += f"Command: `{cmd.replace('{json}', 'OUT.json').replace('{out}', 'OUT')}`."
        if res["status"] != "ok":
            lines += ["", f"Not measured: {res['status']} ({res.get('detail', '')})."]
            continue
        lines += [""] + (res["table"] or ["(the benchmark printed no table)"])
        lines += ["", f"Took {res['seconds']} s."]
    lines += ["", END]
    return "\n".join(lines) + "\n"


def write_results_md(path, section):
    """Replace the generated section of ``path`` (append it when there is none)."""
    text = open(path, encoding="utf-8").read() if os.path.isfile(path) else "# Benchmark results\n"
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        text = head + section.rstrip("\n") + rest.split(END, 1)[1]
    else:
        text = text.rstrip("\n") + "\n\n" + section
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--only", nargs="+", help="benchmark names (see --list)")
    parser.add_argument("--quality", action="store_true", help="also run the quality runs")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (CPU smoke run)")
    parser.add_argument("--list", action="store_true", help="list the benchmarks and exit")
    parser.add_argument("--results_md", default=os.path.join(HERE, "RESULTS.md"))
    parser.add_argument("--results_dir", default=os.path.join(REPO, "results", "benchmarks"))
    parser.add_argument("--timeout", type=int, default=1800, help="seconds per benchmark")
    args = parser.parse_args(argv)
    if args.list:
        for b in BENCHMARKS:
            print(f"{b.name:<20} {b.kind:<8} {b.title}")
        return 0
    known = {b.name for b in BENCHMARKS}
    unknown = set(args.only or []) - known
    if unknown:
        sys.exit(f"error: unknown benchmark {sorted(unknown)}; known: {sorted(known)}")
    if args.only:
        benches = [b for b in BENCHMARKS if b.name in args.only]
    else:
        benches = [b for b in BENCHMARKS if b.kind == "speed" or args.quality]
    if args.quick:
        benches = [b for b in benches if b.quick_args is not None]
    os.makedirs(args.results_dir, exist_ok=True)
    env, results = environment(), {}
    for bench in benches:
        print(f"== {bench.name} ...", flush=True)
        results[bench.name] = run_benchmark(bench, args.results_dir, args.quick, args.timeout)
        res = results[bench.name]
        print(f"   {res['status']} {res.get('seconds', '')} s {res.get('detail', '')}")
        for line in res.get("table", []):
            print("   " + line)
    with open(os.path.join(args.results_dir, "run.json"), "w", encoding="utf-8") as f:
        json.dump({"environment": env, "results": results}, f, indent=1)
    write_results_md(args.results_md, render(env, benches, results, args.quick))
    print(f"wrote {args.results_md}")
    return 0 if all(r["status"] == "ok" for r in results.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
