#!/usr/bin/env python3
"""Recipe: conditional diffusion TTS and voice conversion on multi-speaker speech.

Three content routes, one per hparams file, all with a speaker / style embedding through the
U-Net's cross-attention and classifier-free guidance on speaker and content:

- hparams/phoneme.yaml: Grad-TTS style (text encoder, MAS, duration predictor, mu);
- hparams/sentence.yaml: one sentence embedding (learned on SentencePiece pieces, or a local
  sentence-transformers folder) + a length predictor;
- hparams/spectrogram.yaml: voice conversion from a source utterance's mel (speaker-poor
  content encoder).

Usage
-----
python train.py hparams/phoneme.yaml                        # bundled FSDD, CPU-sized
python train.py hparams/phoneme.yaml --speaker_source table
python train.py hparams/spectrogram.yaml --debug
python train.py hparams/phoneme.yaml --dataset speechocean762 --data_folder /data/so762
python train.py hparams/phoneme.yaml --dataset manifests --data_folder .gpu_data/tts/so762

Then: python synthesize.py "seven" --ref ref.wav --out out.wav --exp results/tts_phoneme_fsdd/1986
      python evaluate.py results/tts_phoneme_fsdd/1986 --classifier CLASSIFIER_DIR
"""

import json
import logging
import os
import random
import sys

import speechbrain as sb
import torch

from audiodiff.data import (
    BUNDLED_FSDD,
    DIGIT_WORDS,
    DataFolderError,
    compute_mel_sequences,
    prepare_fsdd,
    read_manifest,
)
from audiodiff.inference.tts import (
    SPEAKERS_FILE,
    TOKENIZER_FOLDER,
    load_style_encoder,
    load_tts_vocoder,
)
from audiodiff.nets.tokenizers import (
    ArpabetTokenizer,
    IpaTokenizer,
    SentencePieceTokenizer,
    TokenizationError,
    read_lexicon,
)
from audiodiff.training import NonFiniteLossError, TTSBrain, TTSDataset, collate_tts
from audiodiff.training.hparams import build_hparams, load_hparams
from audiodiff.training.tts import BucketBatchSampler

logger = logging.getLogger(__name__)
RECIPE = os.path.dirname(os.path.abspath(__file__))
DIGITS_LEXICON = os.path.join(RECIPE, "lexicon", "digits.txt")
SPLITS = ("train", "valid", "test", "held_out")
DEBUG_ITEMS = 48  # utterances per split in --debug


# ---- data -------------------------------------------------------------------------------------
def prepare_manifests(hp):
    """The dataset's manifests: split name -> JSON path, plus "speakers" (and "lexicon")."""
    dataset, folder = hp["dataset"], hp["data_folder"]
    if dataset == "fsdd":
        paths = prepare_fsdd(
            folder or BUNDLED_FSDD, hp["prepare_folder"], skip_prep=hp["skip_prep"]
        )
        return {**paths, "lexicon": DIGITS_LEXICON}
    if folder is None:
        raise DataFolderError(f"--dataset {dataset} needs its data: pass --data_folder PATH")
    if dataset == "speechocean762":
        try:
            from audiodiff.data import prepare_speechocean762
        except ImportError:
            raise DataFolderError(
                "--dataset speechocean762 needs audiodiff.data.prepare_speechocean762 (not in "
                "this installation); prepare manifests elsewhere and use --dataset manifests"
            ) from None
        paths = prepare_speechocean762(
            folder,
            hp["prepare_folder"],
            held_out_speakers=tuple(hp["held_out_speakers"]),
            skip_prep=hp["skip_prep"],
        )
        return {**paths, "lexicon": os.path.join(folder, "resource", "lexicon.txt")}
    if dataset == "manifests":
        paths = {s: os.path.join(folder, f"{s}.json") for s in (*SPLITS, "speakers")}
        missing = [s for s in ("train", "valid", "speakers") if not os.path.isfile(paths[s])]
        if missing:
            raise DataFolderError(f"--data_folder {folder} lacks {', '.join(missing)}.json")
        return {**paths, "lexicon": os.path.join(folder, "lexicon.txt")}
    raise DataFolderError(f"unknown --dataset {dataset!r}: use fsdd, speechocean762 or manifests")


def entry_text(entry):
    """The text of a manifest entry: its ``text``, or FSDD's digit word."""
    if entry.get("text"):
        return str(entry["text"])
    return DIGIT_WORDS[int(entry["digit"])]


def entry_phones(entry):
    """A manifest's own ARPAbet phones as a flat list (None when it has none)."""
    phones = entry.get("phones")
    if not phones:
        return None
    if isinstance(phones, str):
        return phones.split()
    flat = []
    for part in phones:
        flat += part.split() if isinstance(part, str) else list(part)
    return flat


def build_tokenizer(hp, manifests, train_entries):
    """The route's tokenizer, fitted/trained on the training text, saved in the experiment."""
    kind = hp["tokenizer"]
    texts = [entry_text(e) for e in train_entries.values()]
    folder = os.path.join(hp["output_folder"], TOKENIZER_FOLDER)
    if kind == "arpabet":
        lexicon = hp["lexicon"] or manifests["lexicon"]
        if not os.path.isfile(lexicon):
            raise DataFolderError(f"no lexicon {lexicon}: pass --lexicon FILE or --tokenizer char")
        lexicon = read_lexicon(lexicon)
        phones = {p.upper() for ph in lexicon.values() for p in ph}
        if hp["use_manifest_phones"]:  # phones of the transcriptions, even if not in the lexicon
            phones |= {p.upper() for e in train_entries.values() for p in entry_phones(e) or []}
        tokenizer = ArpabetTokenizer(lexicon, symbols=sorted(phones))
    elif kind == "ipa":
        tokenizer = IpaTokenizer().fit(texts)
    elif kind in ("char", "subword"):
        model_type = "char" if kind == "char" else "unigram"
        tokenizer = SentencePieceTokenizer.train(
            texts, folder, vocab_size=hp["sentencepiece_vocab_size"], model_type=model_type
        )
    else:
        raise DataFolderError(f"unknown --tokenizer {kind!r}: use arpabet, ipa, char or subword")
    tokenizer.save(folder)
    return tokenizer


def tokens_of(hp, tokenizer, entry):
    """Token ids of an entry (its own phones when the manifest has them and arpabet is used)."""
    phones = entry_phones(entry) if hp["use_manifest_phones"] else None
    if phones and isinstance(tokenizer, ArpabetTokenizer):
        return tokenizer.encode_phones(phones)
    return tokenizer(entry_text(entry))


def embed_utterances(hp, entries, ids, encoder, cache_path):
    """Pretrained style-encoder embeddings of utterances ([N, dim]), cached."""
    key = {"ids": ids, "encoder": os.path.abspath(hp["style_encoder_folder"] or "")}
    if os.path.isfile(cache_path):
        cached = torch.load(cache_path, weights_only=True)
        if cached.get("key") == key:
            return cached["value"]
    vectors = []
    for utt in ids:
        vectors.append(encoder.embed_file(entries[utt]["wav"]).float().cpu())
    value = torch.stack(vectors)
    torch.save({"key": key, "value": value}, cache_path)
    return value


def dataio_prep(
    hp, manifests, speakers, tokenizer, style_encoder, sentence_embedder, debug, progress=True
):
    """Items of every split: mel, tokens or embeddings, speaker index (-1: not a training
    speaker) and a grouping key for same-speaker references."""
    feature_folder = hp["data_folder"] if hp["dataset"] == "manifests" else hp["prepare_folder"]
    datasets = {}
    for split in SPLITS:
        if not os.path.isfile(manifests.get(split) or ""):
            continue
        entries = read_manifest(manifests[split])
        manifest, cache = manifests[split], os.path.join(feature_folder, f"features_{split}.pt")
        keep = None
        if debug:
            keep = set(sorted(entries)[:: max(1, len(entries) // DEBUG_ITEMS)][:DEBUG_ITEMS])
            # audio at hand: compute a few; precomputed features (manifests): load all, keep a few
            if hp["dataset"] != "manifests":
                entries = {k: entries[k] for k in sorted(keep)}
                manifest = _write_debug_manifest(hp, split, entries)
                cache = os.path.join(hp["prepare_folder"], f"features_{split}_debug.pt")
        feats = compute_mel_sequences(
            manifest, hp["mel"], sample_rate=hp["sample_rate"], cache_path=cache, progress=progress
        )
        items, skipped, unreadable = [], [], []
        for utt, mel_db in zip(feats["ids"], feats["mel_db"]):
            if keep is not None and utt not in keep:
                continue
            entry = entries[utt]
            text = entry_text(entry)
            item = {
                "id": utt,
                "mel_db": mel_db,
                "text": text,
                "speaker": speakers.index(str(entry["speaker"]))
                if str(entry["speaker"]) in speakers
                else -1,
                "group": str(entry["speaker"]),
            }
            if "digit" in entry:
                item["digit"] = int(entry["digit"])
            frames = mel_db.shape[-1]
            if frames > hp["max_frames"]:
                skipped.append(utt)
                continue
            if hp["route"] != "spectrogram" and sentence_embedder is None:
                try:
                    item["tokens"] = tokens_of(hp, tokenizer, entry)
                except TokenizationError as err:
                    unreadable.append((utt, str(err)))
                    continue
                too_many = len(item["tokens"]) > min(hp["max_tokens"], frames)
                if too_many and hp["route"] == "phoneme":
                    skipped.append(utt)
                    continue
            items.append(item)
        if unreadable:
            logger.warning(
                f"{split}: dropped {len(unreadable)} utterances the tokenizer cannot "
                f"read, e.g. {unreadable[0][0]}: {unreadable[0][1]}"
            )
        if skipped:
            logger.warning(
                f"{split}: dropped {len(skipped)} utterances longer than max_frames "
                f"or with more tokens than frames (e.g. {skipped[:3]})"
            )
        if style_encoder is not None:
            ids = [i["id"] for i in items]
            vectors = embed_utterances(
                hp,
                entries,
                ids,
                style_encoder,
                os.path.join(hp["prepare_folder"], f"style_embeddings_{split}.pt"),
            )
            for item, vector in zip(items, vectors):
                item["speaker_embedding"] = vector
        if sentence_embedder is not None:
            vectors = sentence_embedder([i["text"] for i in items])
            for item, vector in zip(items, vectors):
                item["sentence_embedding"] = vector
        datasets[split] = items
    return datasets


def _write_debug_manifest(hp, split, entries):
    from audiodiff.data import write_manifest

    path = os.path.join(hp["prepare_folder"], f"debug_{split}.json")
    write_manifest(path, entries)
    return path


def tts_dataset(items, hp):
    """A ``TTSDataset`` (references: another utterance of the same speaker name)."""
    return TTSDataset(items, hp["max_reference_frames"])


def sample_requests(hp, items, speakers, num):
    """Epoch-end requests from the valid split: texts (or sources) with references.

    Text routes: the text of ``num`` valid utterances (speakers in turn), the reference
    another utterance of the same speaker. Spectrogram route: the source is a valid
    utterance, the reference an utterance of another speaker (voice conversion).
    """
    rng = random.Random(hp["sample_seed"])
    by_group = {}
    for item in items:
        by_group.setdefault(item["group"], []).append(item)
    shuffled = {g: rng.sample(group, len(group)) for g, group in sorted(by_group.items())}
    # speakers in turn, a random utterance of each
    turns = [(rank, g) for g, group in shuffled.items() for rank in range(len(group))]
    picks = [shuffled[g][rank] for rank, g in sorted(turns)[:num]]
    requests, infos = [], []
    for item in picks:
        if hp["route"] == "spectrogram":
            others = [g for g in by_group if g != item["group"]] or [item["group"]]
            ref = rng.choice(by_group[rng.choice(others)])
            info = {
                "text": item["id"],
                "speaker": ref["group"],
                "source": item["id"],
                "source_speaker": item["group"],
            }
        else:
            pool = [r for r in by_group[item["group"]] if r["id"] != item["id"]] or [item]
            ref = rng.choice(pool)
            info = {"text": item["text"], "speaker": ref["group"]}
        info["reference"] = ref["id"]
        if "digit" in item:
            info["digit"] = item["digit"]
        request = dict(
            item,
            ref_mel_db=ref["mel_db"][:, : hp["max_reference_frames"]],
            speaker=max(ref["speaker"], 0),
        )
        if "speaker_embedding" in ref:
            request["speaker_embedding"] = ref["speaker_embedding"]
        requests.append(request)
        infos.append(info)
    return {"batch": collate_tts(requests), "infos": infos}


def train_loader_kwargs(hp, items):
    """The shared loader options with length-bucketed batches (less padding)."""
    opts = dict(hp["train_dataloader_opts"])
    sampler = BucketBatchSampler(
        [i["mel_db"].shape[-1] for i in items],
        opts.pop("batch_size"),
        drop_last=opts.pop("drop_last", False),
        seed=hp["seed"],
    )
    opts.pop("shuffle", None)
    return {**opts, "batch_sampler": sampler, "collate_fn": collate_tts}


# ---- main -------------------------------------------------------------------------------------
def main(argv):
    hparams_file, run_opts, overrides, hp = load_hparams(argv)
    debug = bool(run_opts.get("debug"))
    try:
        manifests = prepare_manifests(hp)
        with open(manifests["speakers"], encoding="utf-8") as f:
            speakers = [str(s) for s in json.load(f)]
        train_entries = read_manifest(manifests["train"])
        speakers = sorted({str(e["speaker"]) for e in train_entries.values()} & set(speakers))
        os.makedirs(hp["output_folder"], exist_ok=True)
        tokenizer = None
        if hp["route"] != "spectrogram":
            tokenizer = build_tokenizer(hp, manifests, train_entries)
        style_encoder = None
        if hp["speaker_source"] == "embedding":
            if not hp["style_encoder_folder"]:
                raise DataFolderError("--speaker_source embedding needs --style_encoder_folder")
            style_encoder = load_style_encoder(hp["style_encoder"], hp["style_encoder_folder"])
        sentence_embedder = None
        if hp["route"] == "sentence" and hp.get("sentence_model_folder"):
            from audiodiff.nets.sentence_encoder import LocalSentenceEmbedder

            sentence_embedder = LocalSentenceEmbedder(hp["sentence_model_folder"])
    except (DataFolderError, FileNotFoundError, ImportError, TokenizationError) as err:
        sys.exit(f"error: {err}")

    # sizes found in the data replace the YAML's (saved with the experiment's overrides)
    found = {"num_speakers": len(speakers)}
    if tokenizer is not None:
        found["vocab_size"] = tokenizer.vocab_size
    if style_encoder is not None:
        found["speaker_embedding_dim"] = int(style_encoder.embedding_dim)
    if sentence_embedder is not None:
        found["sentence_embedding_dim"] = sentence_embedder.dim
    changed = {k: v for k, v in found.items() if hp.get(k) != v}
    if changed:
        overrides.update(changed)
        hp = build_hparams(hparams_file, overrides)
    sb.create_experiment_directory(
        experiment_directory=hp["output_folder"],
        hyperparams_to_save=hparams_file,
        overrides=overrides,
    )
    with open(os.path.join(hp["output_folder"], SPEAKERS_FILE), "w", encoding="utf-8") as f:
        json.dump(speakers, f)

    try:
        splits = dataio_prep(
            hp,
            manifests,
            speakers,
            tokenizer,
            style_encoder,
            sentence_embedder,
            debug,
            progress=not run_opts.get("noprogressbar"),
        )
    except (DataFolderError, ValueError) as err:
        sys.exit(f"error: {err}")
    train_items = [i for i in splits["train"] if i["speaker"] >= 0]
    valid_items = splits["valid"]
    if hp["speaker_source"] == "table":
        valid_items = [i for i in valid_items if i["speaker"] >= 0]
    if not train_items or not valid_items:
        sys.exit("error: no usable training or validation utterances (see the warnings above)")
    if not hp["normalizer"].is_fitted:
        hp["normalizer"].fit([i["mel_db"] for i in train_items])
    try:
        hp["modules"]["vocoder"] = load_tts_vocoder(
            hp["vocoder"],
            hp["mel"],
            hp["griffin_lim"],
            run_opts.get("device", "cuda" if torch.cuda.is_available() else "cpu"),
        )
    except (ImportError, FileNotFoundError, ValueError) as err:
        sys.exit(f"error: --vocoder: {err}")
    num_samples = 4 if debug else hp["num_epoch_samples"]
    hp["sample_requests"] = sample_requests(hp, valid_items, speakers, num_samples)

    brain = TTSBrain(
        modules=hp["modules"],
        opt_class=hp["opt_class"],
        hparams=hp,
        run_opts=run_opts,
        checkpointer=hp["checkpointer"],
    )
    try:
        brain.fit(
            hp["epoch_counter"],
            tts_dataset(train_items, hp),
            tts_dataset(valid_items, hp),
            train_loader_kwargs=train_loader_kwargs(hp, train_items),
            valid_loader_kwargs={**hp["valid_dataloader_opts"], "collate_fn": collate_tts},
        )
    except NonFiniteLossError as err:
        sys.exit(f"error: {err}")


if __name__ == "__main__":
    main(sys.argv[1:])
