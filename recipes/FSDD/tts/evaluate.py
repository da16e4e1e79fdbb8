#!/usr/bin/env python3
"""Score a trained TTS / voice-conversion experiment, with a guidance sweep.

FSDD (the experiment's test split; references are test-split takes, never trained on):

- text routes: every digit word x every speaker x ``--per_cell`` references of that speaker;
  the project's digit/speaker classifier (``recipes/AudioMNIST/classifier``) scores digit
  accuracy (the word asked for) and speaker accuracy (the reference's speaker);
- spectrogram route (voice conversion): every test source x a reference of another speaker;
  digit kept, target speaker accuracy, and how often the source speaker is still heard.

Held-out speakers (``held_out.json`` of speechocean762 or prepared manifests): each held-out
utterance's transcript is synthesised with another utterance of its speaker as the
reference; with ``--speaker_encoder`` (the project's speaker encoder) the cosine of the
embeddings of output and reference is reported beside real same-speaker and
different-speaker pairs, and how often the closest held-out speaker (enrolment: the mean
embedding of its real utterances) is the reference's. With ``--asr`` (a recogniser trained by
``recipes/speechocean762/asr``) the intelligibility: greedy CTC CER / WER of the generated
utterances against their transcripts, and, as references, of the real held-out recordings of
the same transcripts and of their round trip through the TTS front-end and its vocoder
(Griffin-Lim unless the experiment has a trained vocoder: the floor any mel-domain TTS with
that vocoder can reach).

Usage
-----
python evaluate.py EXP --classifier CLS --out EXP/eval --scales 1 2 3 4
python evaluate.py EXP --held_out --speaker_encoder ENCODER_DIR --out EXP/eval_held_out
python evaluate.py EXP --held_out --asr ASR_DIR --out EXP/eval_held_out   # + CER / WER

Writes ``results.json`` (every number), ``summary.txt`` (a table), the default-scale samples
(``<name>/wav/*.wav`` named by text and speaker + ``spectrograms.png``).
"""

import argparse
import json
import os
import random
import sys

import torch

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")


def parse_args(argv):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("exp", help="experiment folder written by train.py")
    parser.add_argument("--classifier", help="digit/speaker classifier folder (FSDD)")
    parser.add_argument("--out", help="output folder (default: EXP/eval)")
    parser.add_argument("--per_cell", type=int, default=3, help="references per digit x speaker")
    parser.add_argument(
        "--scales",
        type=float,
        nargs="*",
        default=[1.0, 2.0, 3.0, 4.0],
        help="joint guidance scales of the sweep",
    )
    parser.add_argument(
        "--speaker_scales",
        type=float,
        nargs="*",
        default=[1.0, 2.0, 3.0, 4.0],
        help="speaker guidance scales (content at the recipe's scale)",
    )
    parser.add_argument("--steps", type=int, help="sampling steps (default: the recipe's)")
    parser.add_argument(
        "--reference_digit",
        choices=("other", "same"),
        default="other",
        help="FSDD references of another digit (the score) or of the requested one (a "
        "content-leakage diagnostic)",
    )
    parser.add_argument("--held_out", action="store_true", help="score held-out speakers")
    parser.add_argument("--speaker_encoder", help="speaker-encoder folder (held-out scores)")
    parser.add_argument(
        "--speaker_encoder_kind",
        default="speaker",
        help="speaker (the project's), clap, or module:callable",
    )
    parser.add_argument(
        "--asr", help="recogniser folder (recipes/speechocean762/asr): held-out CER / WER"
    )
    parser.add_argument("--max_held_out", type=int, default=60, help="held-out requests")
    parser.add_argument("--batch_size", type=int, default=128)
    parser.add_argument("--device", help="cpu or cuda (default: cuda when available)")
    return parser.parse_args(argv)


def load_split(tts, split):
    """(manifest entries, {id: item}) of a split of the experiment's prepared data."""
    from audiodiff.data import read_manifest

    hp = tts.hparams
    folder = hp["data_folder"] if hp["dataset"] == "manifests" else hp["prepare_folder"]
    path = os.path.join(folder, f"{split}.json")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no {split}.json in {folder}")
    return read_manifest(path)


def entry_wav(tts, entry):
    """Absolute path of an entry's audio (manifests from the GPU tool are relative)."""
    hp = tts.hparams
    path = entry["wav"]
    if not os.path.isabs(path) and hp["dataset"] == "manifests":
        path = os.path.join(hp["data_folder"], path)
    return path


def other_digit(pairs, digit):
    """The (id, entry) pairs of a speaker whose digit is not ``digit`` (all if none is)."""
    return [p for p in pairs if int(p[1].get("digit", -1)) != digit] or list(pairs)


def same_digit(pairs, digit):
    """The (id, entry) pairs of a speaker whose digit is ``digit`` (all if none is)."""
    return [p for p in pairs if int(p[1].get("digit", -1)) == digit] or list(pairs)


def fsdd_requests(tts, entries, per_cell, seed=0, reference_digit="other"):
    """Requests of the FSDD grid: (item, info) pairs (see the module docstring).

    References never say the requested digit (text routes) or the source's digit (voice
    conversion): a reference of the same word could carry the content through the speaker
    path, and inflate digit accuracy. Text routes use ``per_cell`` distinct references per
    digit x speaker, drawn at random (seeded) from the speaker's other test takes.
    ``reference_digit="same"`` draws references of the requested (or the source's) digit
    instead: the difference in digit accuracy measures how much content the speaker path
    carries (a diagnostic, not a score).
    """
    pick = other_digit if reference_digit == "other" else same_digit
    rng = random.Random(seed)
    by_speaker = {}
    for utt, entry in sorted(entries.items()):
        by_speaker.setdefault(str(entry["speaker"]), []).append((utt, entry))
    speakers = sorted(by_speaker)
    requests = []
    for speaker in speakers:
        for digit, word in enumerate(DIGIT_WORDS):
            if tts.route == "spectrogram":
                sources = [u for u in by_speaker[speaker] if int(u[1]["digit"]) == digit]
                targets = [s for s in speakers if s != speaker]
                for k in range(per_cell):
                    src_id, src = sources[k % len(sources)]
                    target = targets[(digit * per_cell + k) % len(targets)]
                    ref_id, ref = rng.choice(pick(by_speaker[target], digit))
                    item = tts._item(
                        source=entry_wav(tts, src), reference=entry_wav(tts, ref), speaker=target
                    )
                    info = {
                        "text": src_id,
                        "speaker": target,
                        "digit": digit,
                        "source_speaker": speaker,
                        "reference": ref_id,
                    }
                    requests.append((item, info))
            else:
                pool = pick(by_speaker[speaker], digit)
                picks = rng.sample(pool, min(per_cell, len(pool)))
                for k in range(per_cell):
                    ref_id, ref = picks[k % len(picks)]
                    item = tts._item(text=word, reference=entry_wav(tts, ref), speaker=speaker)
                    info = {"text": word, "speaker": speaker, "digit": digit, "reference": ref_id}
                    requests.append((item, info))
    return requests


def classifier_scores(evaluator, wavs, infos, sample_rate):
    """Digit / speaker accuracy (and the source-speaker rate for conversions)."""
    import torchaudio

    names = evaluator.speakers
    if sample_rate != evaluator.sample_rate:
        wavs = [torchaudio.functional.resample(w, sample_rate, evaluator.sample_rate) for w in wavs]
    outputs = evaluator.predict(evaluator.features_from_waveforms(wavs))
    labels = [
        {"digit": i["digit"], "speaker": names.index(i["speaker"])}
        if i["speaker"] in names
        else {"digit": i["digit"]}
        for i in infos
    ]
    result = evaluator.evaluate_outputs(outputs, labels, speaker_names=names)
    keep = {
        k: result.get(k)
        for k in (
            "digit_acc",
            "speaker_acc",
            "num_samples",
            "fid",
            "num_speaker_scored",
            "digit_acc_per_digit",
        )
    }
    if any("source_speaker" in i for i in infos) and outputs["speaker_probs"] is not None:
        pred = outputs["speaker_probs"].argmax(-1).tolist()
        src = [names.index(i["source_speaker"]) for i in infos]
        keep["source_speaker_rate"] = sum(p == s for p, s in zip(pred, src)) / len(src)
    return keep


def held_out_requests(tts, entries, limit, seed=0):
    """Each held-out utterance's transcript with another utterance of its speaker."""
    rng = random.Random(seed)
    by_speaker = {}
    for utt, entry in sorted(entries.items()):
        by_speaker.setdefault(str(entry["speaker"]), []).append((utt, entry))
    per_speaker = max(1, limit // max(1, len(by_speaker)))
    requests = []
    for speaker in sorted(by_speaker):
        for utt, entry in by_speaker[speaker][:per_speaker]:
            others = [o for o in by_speaker[speaker] if o[0] != utt] or [(utt, entry)]
            ref_id, ref = rng.choice(others)
            text = entry.get("text") or DIGIT_WORDS[int(entry.get("digit", 0))]
            if tts.route == "spectrogram":
                item = tts._item(source=entry_wav(tts, entry), reference=entry_wav(tts, ref))
            else:
                item = tts._item(text=text, reference=entry_wav(tts, ref))
            requests.append(
                (
                    item,
                    {
                        "text": text if tts.route != "spectrogram" else utt,
                        "speaker": speaker,
                        "reference": ref_id,
                        "utterance": utt,
                        "transcript": text,
                    },
                )
            )
    return requests, by_speaker


def speaker_scores(encoder, tts, wavs, infos, by_speaker):
    """Cosine similarities (generated vs reference, real same / different speaker pairs) and
    closest-speaker accuracy against the held-out speakers' enrolment (all their real
    utterances), with ``audiodiff.metrics.speaker``."""
    from audiodiff.metrics.speaker import closest_speaker, speaker_similarity

    lookup = {u: e for pairs in by_speaker.values() for u, e in pairs}
    references = [entry_wav(tts, lookup[i["reference"]]) for i in infos]
    generated = speaker_similarity(encoder, wavs, references, sample_rate=tts.sample_rate)
    speakers = sorted(by_speaker)
    same_a, same_b, diff_a, diff_b = [], [], [], []
    for s in speakers:
        paths = [entry_wav(tts, e) for _, e in by_speaker[s]]
        same_a += paths[::2][: len(paths[1::2])]
        same_b += paths[1::2]
    for s, t in zip(speakers, speakers[1:] + speakers[:1]):
        pairs = list(zip(by_speaker[s][:4], by_speaker[t][:4]))
        diff_a += [entry_wav(tts, a[1]) for a, _ in pairs]
        diff_b += [entry_wav(tts, b[1]) for _, b in pairs]
    same = speaker_similarity(encoder, same_a, same_b) if same_a else torch.zeros(0)
    different = speaker_similarity(encoder, diff_a, diff_b) if diff_a else torch.zeros(0)
    enrolment = {s: [entry_wav(tts, e) for _, e in by_speaker[s]] for s in speakers}
    closest = closest_speaker(encoder, wavs, enrolment, sample_rate=tts.sample_rate)
    hits = [c == i["speaker"] for c, i in zip(closest, infos)]
    return {
        "similarity_generated_vs_reference": float(generated.mean()),
        "similarity_real_same_speaker": float(same.mean()) if len(same) else None,
        "similarity_real_different_speaker": float(different.mean()) if len(different) else None,
        "closest_speaker_acc": sum(hits) / len(hits),
        "num_samples": len(hits),
        "num_held_out_speakers": len(speakers),
        "num_real_pairs": [len(same), len(different)],
    }


def asr_scores(recognizer, wavs, infos, sample_rate):
    """Greedy CTC CER / WER of ``wavs`` against the requests' transcripts (+ hypotheses)."""
    rates = recognizer.error_rates(wavs, [i["transcript"] for i in infos], sample_rate)
    return {k: rates[k] for k in ("cer", "wer", "n", "chars", "words", "hypotheses")}


@torch.no_grad()
def intelligibility_references(recognizer, tts, infos, by_speaker):
    """CER / WER of the real held-out recordings of the requested transcripts, and of their
    round trip through the TTS front-end and vocoder (wav -> dB mel -> ``tts.vocoder``):
    name -> scores."""
    from audiodiff.audio import read_audio

    lookup = {u: e for pairs in by_speaker.values() for u, e in pairs}
    real = [read_audio(entry_wav(tts, lookup[i["utterance"]]), tts.sample_rate)[0] for i in infos]
    vocoder = tts.vocoder
    round_trip = [
        vocoder(tts.mel_db(wav).to(tts.device)[None])[0].float().cpu()[: wav.numel()]
        for wav in real
    ]
    return {
        "real": asr_scores(recognizer, real, infos, tts.sample_rate),
        "resynthesis": {
            **asr_scores(recognizer, round_trip, infos, tts.sample_rate),
            "vocoder": type(vocoder).__name__,
        },
    }


def intelligibility_table(references, rows):
    """Summary lines: CER / WER of the real, resynthesised and generated held-out audio."""
    line = "| {} | {:.1f}% | {:.1f}% | {} |"
    lines = ["", "intelligibility (greedy CTC recogniser, --asr)", "| audio | CER | WER | n |"]
    lines.append("| --- | --- | --- | --- |")
    real, resynthesis = references["real"], references["resynthesis"]
    for name, r in (
        ("real recordings", real),
        (f"real -> mel -> {resynthesis['vocoder']}", resynthesis),
        *((f"generated, guidance {scale}", row) for scale, row in rows),
    ):
        lines.append(line.format(name, 100 * r["cer"], 100 * r["wer"], r["n"]))
    return lines


def generate(tts, requests, batch_size, **options):
    items = [r[0] for r in requests]
    return tts.generate(items, batch_size=batch_size, **options)


def main(argv):
    args = parse_args(argv)
    from audiodiff.audio import AudioReadError
    from audiodiff.inference import (
        TTS,
        Recognizer,
        RecognizerInputError,
        TTSInputError,
        load_style_encoder,
    )
    from audiodiff.metrics import EvaluationError, SampleEvaluator
    from audiodiff.training.samples import write_tts_samples

    try:
        tts = TTS.from_hparams(args.exp, device=args.device)
    except (FileNotFoundError, ImportError) as err:
        sys.exit(f"error: {err}")
    out_dir = args.out or os.path.join(args.exp, "eval")
    os.makedirs(out_dir, exist_ok=True)
    hp = tts.hparams
    default_scale = float(hp["guidance_scale"])
    results = {
        "exp": os.path.abspath(args.exp),
        "route": tts.route,
        "steps": args.steps or hp["sample_steps"],
        "sampler": hp["sampler"],
        "default_scale": default_scale,
    }
    summary = [f"experiment {args.exp} ({tts.route} route, {hp['dataset']})"]
    try:
        if args.held_out:
            entries = load_split(tts, "held_out")
            requests, by_speaker = held_out_requests(tts, entries, args.max_held_out)
            encoder = (
                load_style_encoder(args.speaker_encoder_kind, args.speaker_encoder, str(tts.device))
                if args.speaker_encoder
                else None
            )
            recognizer = Recognizer.from_hparams(args.asr, tts.device) if args.asr else None
            scales = args.scales or [default_scale]
            infos = [r[1] for r in requests]
            results["held_out"] = {}
            transcripts, asr_rows = {}, []
            if recognizer is not None:
                references = intelligibility_references(recognizer, tts, infos, by_speaker)
                for name, scores in references.items():
                    transcripts[name] = scores.pop("hypotheses")
                results["intelligibility"] = {"asr": os.path.abspath(args.asr), **references}
            for scale in scales:
                mels, wavs = generate(
                    tts, requests, args.batch_size, guidance_scale=scale, steps=args.steps
                )
                row = {"num_samples": len(wavs)}
                if encoder is not None:
                    row = speaker_scores(encoder, tts, wavs, infos, by_speaker)
                if recognizer is not None:
                    row["intelligibility"] = asr_scores(recognizer, wavs, infos, tts.sample_rate)
                    transcripts[f"generated_g{scale:g}"] = row["intelligibility"].pop("hypotheses")
                    asr_rows.append((scale, row["intelligibility"]))
                results["held_out"][str(scale)] = row
                summary.append(f"held-out, guidance {scale}: {json.dumps(row)}")
                if scale == scales[0] or scale == default_scale:
                    write_tts_samples(
                        os.path.join(out_dir, f"held_out_g{scale:g}"),
                        wavs,
                        mels,
                        infos,
                        tts.sample_rate,
                    )
            if recognizer is not None:
                summary += intelligibility_table(results["intelligibility"], asr_rows)
                transcripts["reference"] = [i["transcript"] for i in infos]
                with open(os.path.join(out_dir, "asr_transcripts.json"), "w") as f:
                    json.dump(transcripts, f, indent=1)
        else:
            if not args.classifier:
                sys.exit("error: FSDD scoring needs --classifier (recipes/AudioMNIST/classifier)")
            evaluator = SampleEvaluator.from_experiment(args.classifier, device=str(tts.device))
            entries = load_split(tts, "test")
            requests = fsdd_requests(
                tts, entries, args.per_cell, reference_digit=args.reference_digit
            )
            infos = [r[1] for r in requests]
            sweeps = [("joint", s, None) for s in args.scales]
            sweeps += [
                ("speaker", default_scale, s) for s in args.speaker_scales if s != default_scale
            ]
            results["sweep"] = []
            for kind, scale, speaker_scale in sweeps:
                mels, wavs = generate(
                    tts,
                    requests,
                    args.batch_size,
                    guidance_scale=scale,
                    speaker_guidance_scale=speaker_scale,
                    steps=args.steps,
                )
                row = classifier_scores(evaluator, wavs, infos, tts.sample_rate)
                row.update(
                    kind=kind,
                    guidance_scale=scale,
                    speaker_guidance_scale=speaker_scale if speaker_scale is not None else scale,
                )
                results["sweep"].append(row)
                line = (
                    f"{kind:8s} content {scale:g} speaker {row['speaker_guidance_scale']:g}: "
                    f"digit {100 * row['digit_acc']:.1f}%  speaker "
                    f"{100 * (row.get('speaker_acc') or 0):.1f}%"
                )
                if "source_speaker_rate" in row:
                    line += f"  source speaker {100 * row['source_speaker_rate']:.1f}%"
                summary.append(line + f"  (n={row['num_samples']})")
                print(summary[-1], flush=True)
                if kind == "joint" and scale == default_scale:
                    write_tts_samples(
                        os.path.join(out_dir, f"fsdd_g{scale:g}"),
                        wavs,
                        mels,
                        infos,
                        tts.sample_rate,
                    )
    except (
        TTSInputError,
        EvaluationError,
        FileNotFoundError,
        ImportError,
        RecognizerInputError,
        AudioReadError,
    ) as err:
        sys.exit(f"error: {err}")
    with open(os.path.join(out_dir, "results.json"), "w", encoding="utf-8") as f:
        json.dump(results, f, indent=1)
    with open(os.path.join(out_dir, "summary.txt"), "w", encoding="utf-8") as f:
        f.write("\n".join(summary) + "\n")
    print("\n".join(summary))
    return results


if __name__ == "__main__":
    main(sys.argv[1:])
