"""Style: does the model write new text in the hand of one reference word? Judged by a writer-ID classifier.

Usage: .venv/bin/python bench/style.py [--checkpoint RUN_DIR|FILE.pt] [--refs N] [--seed K] [--threads T]

1. A writer-identification classifier (pooled ink features -> multinomial logistic regression, seconds on
   one core) is trained on real samples of the six synthetic writers (hershey.STYLES), plus the bigbank writer
   when ../shared/data holds it: texts of one or two training words, drawn and thinned as the model's
   training data were (data.spacing of the checkpoint); the bigbank writer's are its own words.
   `real_style_accuracy`: the classifier on real held-out texts of each writer (one or two held-out words,
   the kind of text the model is asked to write below), averaged over the writers.
2. For each writer k, N reference words of k (single held-out words) each set the hand (trajtok.style,
   `trajtok write --style`) in which the model writes two other held-out texts, sampled at --temperature;
   the classifier names the writer of each generated sample. A model with a style encoder
   (model.style_steps > 0) is measured three ways: the encoder reading the references (`style_by`:
   "encoder"), the same model primed with them (`priming_style_accuracy`), and both at once
   (`encoder_and_priming_style_accuracy`); any other model is primed (`style_by`: "prime").
   `style_accuracy`: the share attributed to k, from ONE reference word; the same with two reference words
   laid out on one line: `style_accuracy_2_samples` (primed, only the texts that fit beside two short words
   and a blank on the lines the model writes, `Writer.line_chars`: 20 for the shipped model). Chance is
   1 / writers.
   `reference_style_accuracy`: the same classifier on the reference words themselves (real, 3-5 letters):
   how often one reference word already names its writer. A model that reads a hand from one word no
   better than this judge does cannot be expected to write text the judge attributes much more often.
   `hand_parameter_ceiling`: how well the writer can be named from a sample's TRUE hand, no ink measured:
   the same classifier on the parameters hershey draws for each sample (Hand.draw: slant, width, letter and
   word gap, pen step; joined or not) and their squares, fitted and scored on fresh draws. The writers'
   draws overlap by design, so this is about the best any reading of one sample can do (a fitted
   classifier's estimate, a little under the Bayes rate; each writer's fixed corner rounding, 0.05-0.1
   x-heights of path, under the thinned data's point spacing, is left out).
   `copied_hand_accuracy`: the classifier on real held-out texts written in exactly the hand of one drawn
   sample (hershey.synthesize's `hand`), two texts a hand: what a model that copied each reference word's
   hand perfectly would score. The target of 0.9 asks more than that: text more typical of its writer than
   the reference word it was shown.
   Writers the checkpoint was not trained on are included (its data.styles are printed): a model trained on
   the print writers only has never seen the other three.
3. The bigbank writer (when present) is measured the same way, printed apart: a model trained on the
   synthetic corpus never saw cursive pen data, so it is not expected to write it.
Last line: JSON with `style_accuracy`, `real_style_accuracy`, `reference_style_accuracy`,
`hand_parameter_ceiling`, `copied_hand_accuracy`, `style_accuracy_2_samples`, `priming_style_accuracy`,
`encoder_and_priming_style_accuracy` (or null), `style_by`, per-writer accuracies, `bigbank_style_accuracy`
(or null), `chance`, `checkpoint`, `seconds`.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np
import torch

from trajtok.checkpoint import load_checkpoint, resolve_checkpoint_path
from trajtok.data import bigbank_path, load_source
from trajtok.data.glyphs import load_font
from trajtok.data.hershey import STYLES, Hand, style_ids, synthesize
from trajtok.data.normalize import ink_band, reference_band
from trajtok.data.texts import TextSampler, held_out_words
from trajtok.generate import Sampling, Writer
from trajtok.ink_features import check_ink, features_from_points
from trajtok.sample import Sample
from trajtok.strokes import integrate, thin_sample
from trajtok.style import check_fits, from_samples, style_prime

STEP = 0.1  # x-heights between the re-sampled points the features are pooled over
DIRECTION_BINS, TURN_BINS = 16, 9
TRAIN_PER_WRITER, TEST_PER_WRITER = 400, 40
TEXTS_PER_REFERENCE = 2
MAX_CHARS = 12  # real and generated texts: one or two words, as many of the training data's texts are
REFERENCE_CHARS = (3, 5)  # reference words: one, a blank and a text fit the lines the model writes (20)
REFERENCE_FONT = load_font("futural")  # how wide a text is in a neutral font: the width normalizer


def pooled_features(sample: Sample) -> np.ndarray:
    """One sample -> a fixed-length vector of its hand: pen directions and turns, heights, and (divided by
    the sample's scale: its ink band against a neutral font's for the same text) width and ink per
    character, slant, strokes per character, the pen-up gaps between strokes."""
    points = integrate(sample.deltas, sample.events[:, 0])
    rows = features_from_points(points, STEP)
    down = rows[:, 3] > 0
    moves = rows[down, :2]
    angle = np.arctan2(moves[:, 1], moves[:, 0])
    direction = np.histogram(angle, DIRECTION_BINS, (-np.pi, np.pi))[0] / max(len(angle), 1)
    turn = np.angle(np.exp(1j * np.diff(angle)))
    turns = np.histogram(turn, TURN_BINS, (-np.pi / 2, np.pi / 2))[0] / max(len(turn), 1)
    heights = np.quantile(rows[down, 2], [0.05, 0.25, 0.5, 0.75, 0.95]) if down.any() else np.zeros(5)
    band = ink_band(points.astype(np.float64)) or (0.0, 1.0)
    reference = reference_band(sample.text)
    scale = max((band[1] - band[0]) / max(reference[1] - reference[0], 1e-6), 1e-6)
    chars = [c for c in sample.text if not c.isspace()] or ["x"]
    expected = sum(g.advance for c in chars if (g := REFERENCE_FONT.glyph(c)) is not None) or len(chars)
    width = np.ptp(points[:, 0]) / expected / scale
    ink = down.sum() * STEP / len(chars) / scale
    vertical = moves[np.abs(moves[:, 1]) > np.abs(moves[:, 0])]
    slant = (vertical[:, 0] * np.sign(vertical[:, 1])).sum() / max(np.abs(vertical[:, 1]).sum(), 1e-6)
    travel = rows[~down, 4:6][1:]  # the pen-up moves into each stroke after the first
    forward = travel[travel[:, 0] > 0, 0] / scale
    gaps = np.quantile(forward, [0.25, 0.5, 0.75]) if len(forward) else np.zeros(3)
    back = float((travel[:, 0] < 0).mean()) if len(travel) else 0.0
    scalars = [np.log(scale), width, ink, slant, len(travel) / len(chars), back]
    return np.concatenate([direction, turns, heights, scalars, gaps]).astype(np.float32)


class WriterClassifier:
    """Standardized pooled features -> multinomial logistic regression (L2), fitted with L-BFGS."""

    def __init__(self, n_classes: int, l2: float = 1e-4):
        self.n_classes, self.l2 = n_classes, l2

    def fit(self, x: np.ndarray, y: np.ndarray) -> WriterClassifier:
        self.mean, self.std = x.mean(0), x.std(0) + 1e-6
        xt = torch.as_tensor((x - self.mean) / self.std)
        yt = torch.as_tensor(y)
        self.linear = torch.nn.Linear(x.shape[1], self.n_classes)
        optimizer = torch.optim.LBFGS(self.linear.parameters(), max_iter=500, line_search_fn="strong_wolfe")

        def closure():
            optimizer.zero_grad()
            loss = torch.nn.functional.cross_entropy(self.linear(xt), yt)
            loss = loss + self.l2 * self.linear.weight.square().sum()
            loss.backward()
            return loss

        optimizer.step(closure)
        return self

    @torch.no_grad()
    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.linear(torch.as_tensor((x - self.mean) / self.std)).argmax(-1).numpy()


def hand_parameter_ceiling(seed: int, draws: int = 2000) -> float:
    """The writer-ID accuracy of a classifier that reads each sample's drawn hand parameters, not its ink."""
    rng = np.random.default_rng([seed, 7])

    def hands(n):
        rows = []
        for style in STYLES:
            for _ in range(n):
                h = Hand.draw(style, rng)
                row = [h.slant, h.width, h.letter_gap, h.word_gap, h.step, float(style.joined)]
                rows.append(row + [v * v for v in row])
        return np.array(rows, np.float32), np.repeat(np.arange(len(STYLES)), n)

    classifier = WriterClassifier(len(STYLES)).fit(*hands(draws))
    x, y = hands(draws // 2)
    predicted = classifier.predict(x)
    return float(np.mean([(predicted[y == k] == k).mean() for k in range(len(STYLES))]))


def readable(samples: list[Sample]) -> list[Sample]:
    return [s for s in samples if check_ink(s) is None and s.text.strip()]


def synthetic_sets(writer_ids, train_words, held_words, spacing, seed):
    """Per writer: (training samples, held-out samples) of texts like the generated ones (one or two words),
    drawn and thinned as the model's training data were; held-out texts are of held-out words."""
    rng = np.random.default_rng(seed)
    sets = {}
    for k in writer_ids:
        parts = []
        for words, n in ((train_words, TRAIN_PER_WRITER), (held_words, TEST_PER_WRITER)):
            texts = generation_texts(rng, words, n)
            drawn = [synthesize(t, k, seed=int(rng.integers(2**31))) for t in texts]
            parts.append(readable([thin_sample(d, spacing) for d in drawn]))
        sets[k] = tuple(parts)
    return sets


def bigbank_sets(spacing, seed):
    """(training, held-out) real words of the bigbank writer, or None when ../shared/data lacks it."""
    if not bigbank_path().is_file():
        return None
    train = load_source("bigbank", split="train", n=TRAIN_PER_WRITER, seed=seed).samples
    test = load_source("bigbank", split="val", n=TEST_PER_WRITER * 3, seed=seed).samples
    return tuple(readable([thin_sample(s, spacing) for s in part]) for part in (train, test))


def generation_texts(rng, words, n, avoid=()):
    """`n` distinct texts of one or two of `words` (at most MAX_CHARS), none holding a word of `avoid`."""
    texts, avoid = [], {a.lower() for a in avoid}
    while len(texts) < n:
        count = 1 if rng.random() < 0.5 else 2
        text = " ".join(words[i] for i in rng.choice(len(words), count, replace=False))
        if len(text) <= MAX_CHARS and not avoid & set(text.lower().split()) and text not in texts:
            texts.append(text)
    return texts


def reference_words(k, words, n, spacing, rng) -> list[Sample]:
    """`n` single held-out words (of REFERENCE_CHARS letters) in synthetic writer k's hand, thinned as the
    training data were."""
    short = [w for w in words if REFERENCE_CHARS[0] <= len(w) <= REFERENCE_CHARS[1]] or words
    chosen = [short[i] for i in rng.choice(len(short), n, replace=False)]
    return readable([thin_sample(synthesize(w, k, seed=int(rng.integers(2**31))), spacing) for w in chosen])


def write_in_style(writer, references, texts, sampling, mode) -> list[Sample]:
    """The texts written in the hand of `references` laid out as one line (trajtok.style): read by the
    model's style encoder (mode "encoder"), primed with that line (mode "prime"), or both."""
    hand = style_prime(from_samples(references), writer.text_tokenizer)
    prime = hand if mode in ("prime", "both") else None
    if prime is not None and writer.line_chars:  # only what fits beside the prime (two references may not)
        texts = [t for t in texts if len(f"{prime.text} {t}") <= writer.line_chars]
        check_fits(prime, texts, writer.line_chars)
    if not texts:
        return []
    written = writer.write(texts, sampling, prime=prime, style=hand if mode != "prime" else None)
    return [s for s in written if check_ink(s) is None]


def predictions(classifier, samples) -> np.ndarray:
    if not samples:
        return np.zeros(0, dtype=np.int64)
    return classifier.predict(np.stack([pooled_features(s) for s in samples]))


def accuracy_of(classifier, samples, label) -> float:
    return float((predictions(classifier, samples) == label).mean()) if samples else 0.0


def copied_hand_accuracy(classifier: WriterClassifier, words, spacing, seed: int, hands: int = 40) -> dict:
    """Per synthetic writer: the judge on real held-out texts written in exactly the hand of one drawn sample,
    TEXTS_PER_REFERENCE texts a hand, as the generated ones are per reference word: what a model that copied
    each reference word's hand perfectly would score."""
    rng = np.random.default_rng([seed, 8])
    accuracy = {}
    for k, style in enumerate(STYLES):
        samples = []
        for _ in range(hands):
            hand = Hand.draw(style, rng)
            for text in generation_texts(rng, words, TEXTS_PER_REFERENCE):
                drawn = synthesize(text, k, seed=int(rng.integers(2**31)), hand=hand)
                samples.append(thin_sample(drawn, spacing))
        accuracy[k] = accuracy_of(classifier, readable(samples), k)
    return accuracy


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", help="run directory or .pt file (default: the shipped model)")
    parser.add_argument("--refs", type=int, default=12, help="reference words per writer (default: 12)")
    parser.add_argument("--temperature", type=float, default=0.5, help="sampling (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--style-guidance",
        type=float,
        default=Sampling().style_guidance,
        help="classifier-free guidance of the style encoder's reference (default: %(default)s)",
    )
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (default: 1)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    start = time.perf_counter()

    path = resolve_checkpoint_path(args.checkpoint)
    checkpoint = load_checkpoint(path)
    writer = Writer.from_loaded(checkpoint)
    data = (checkpoint.extra.get("train_config") or {}).get("data", {})
    trained_on = style_ids(data.get("styles") or range(len(STYLES)))
    spacing = float(data.get("spacing", 0.0))
    print(f"checkpoint {path}: trained on writers {trained_on} of {len(STYLES)}; thinning {spacing}")

    held = sorted(held_out_words())
    train_words = [w for w in TextSampler("train").words if len(w) >= 3]
    writers = list(range(len(STYLES)))
    sets = synthetic_sets(writers, train_words, held, spacing, args.seed)
    bigbank = bigbank_sets(spacing, args.seed)
    labels = {k: k for k in writers}
    if bigbank is not None:
        sets["bigbank"] = bigbank
        labels["bigbank"] = len(STYLES)
    x = np.stack([pooled_features(s) for k in sets for s in sets[k][0]])
    y = np.array([labels[k] for k in sets for _ in sets[k][0]])
    classifier = WriterClassifier(len(labels)).fit(x, y)
    real = {k: accuracy_of(classifier, sets[k][1], labels[k]) for k in sets}
    real_accuracy = float(np.mean(list(real.values())))
    names = {k: STYLES[k].name if k != "bigbank" else "bigbank" for k in sets}
    by_label = {labels[k]: names[k] for k in sets}
    ceiling = hand_parameter_ceiling(args.seed)
    copied = copied_hand_accuracy(classifier, held, spacing, args.seed)
    copied_accuracy = float(np.mean(list(copied.values())))
    print(
        f"classifier: {len(labels)} writers, {len(x)} training samples; "
        f"held-out real samples {real_accuracy:.3f} ({time.perf_counter() - start:.0f} s so far); "
        f"from the true hand parameters of the six synthetic writers {ceiling:.3f}; real texts in exactly "
        f"one sample's hand (a perfect copier) {copied_accuracy:.3f}: "
        + ", ".join(f"{STYLES[k].name} {v:.3f}" for k, v in copied.items())
    )

    rng = np.random.default_rng(args.seed + 1)
    sampling = Sampling(temperature=args.temperature, seed=args.seed, style_guidance=args.style_guidance)
    modes = ["encoder", "prime", "both"] if writer.encodes_style else ["prime"]
    print(f"style by {' and by '.join(modes)} (encoder: the model's style encoder reads the references)")
    one = {mode: {} for mode in modes}
    two = {mode: {} for mode in modes}
    reference = {}
    for k in sets:
        if k == "bigbank":
            pool = [s for s in bigbank[1] if REFERENCE_CHARS[0] <= len(s.text) <= REFERENCE_CHARS[1]]
        else:
            pool = reference_words(k, held, 2 * args.refs, spacing, rng)
        jobs = []
        for r in range(args.refs):
            references = [pool[(2 * r + j) % len(pool)] for j in range(2)]
            avoid = [w for ref in references for w in ref.text.split()]
            jobs.append((references, generation_texts(rng, held, TEXTS_PER_REFERENCE, avoid)))
        reference[k] = accuracy_of(classifier, pool, labels[k])
        seen = "trained on" if k in trained_on else "NOT in the model's training data"
        print(f"  writer {names[k]:<15} its {len(pool)} reference words themselves: {reference[k]:.3f}")
        for mode in modes:
            written_one, written_two = [], []
            for references, texts in jobs:
                written_one += write_in_style(writer, references[:1], texts, sampling, mode)
                written_two += write_in_style(writer, references, texts, sampling, mode)
            one[mode][k] = accuracy_of(classifier, written_one, labels[k])
            two[mode][k] = accuracy_of(classifier, written_two, labels[k])
            named = np.bincount(predictions(classifier, written_one), minlength=len(labels))
            taken = ", ".join(f"{by_label[j]} {c}" for j, c in enumerate(named) if c)
            print(
                f"  writer {names[k]:<15} {mode:<7} real {real[k]:.3f}  generated from 1 reference "
                f"{one[mode][k]:.3f}, from 2 {two[mode][k]:.3f}  ({len(written_one)} samples; {seen}; "
                f"judged as: {taken})"
            )
    main_mode = modes[0]
    bigbank_accuracy = one[main_mode].get("bigbank")
    reference.pop("bigbank", None)
    reference_accuracy = float(np.mean(list(reference.values())))
    for mode in modes:
        if "bigbank" in one[mode]:
            two[mode].pop("bigbank")
            accuracy = one[mode].pop("bigbank")
            print(
                f"bigbank by {mode} (printed apart, not in style_accuracy): from 1 reference {accuracy:.3f}"
            )
    means = {mode: float(np.mean(list(one[mode].values()))) for mode in modes}
    style_accuracy = means[main_mode]
    two_accuracy = float(np.mean(list(two[main_mode].values())))
    chance = 1 / len(labels)
    seen_accuracy = float(np.mean([one[main_mode][k] for k in trained_on]))
    print(
        f"style accuracy ({main_mode}) from 1 reference word {style_accuracy:.3f} "
        f"({style_accuracy / chance:.1f}x chance {chance:.3f}); from 2 words {two_accuracy:.3f}; "
        f"by priming {means['prime']:.3f} ({style_accuracy / max(means['prime'], 1e-9):.2f}x priming); "
        f"writers the model was trained on {seen_accuracy:.3f}; real held-out {real_accuracy:.3f}; "
        f"the reference words themselves {reference_accuracy:.3f}; a perfect copier {copied_accuracy:.3f}; "
        f"true hand parameters {ceiling:.3f}"
    )
    seconds = time.perf_counter() - start
    result = {
        "style_accuracy": round(style_accuracy, 4),
        "real_style_accuracy": round(real_accuracy, 4),
        "reference_style_accuracy": round(reference_accuracy, 4),
        "hand_parameter_ceiling": round(ceiling, 4),
        "copied_hand_accuracy": round(copied_accuracy, 4),
        "style_accuracy_2_samples": round(two_accuracy, 4),
        "priming_style_accuracy": round(means["prime"], 4),
        "encoder_and_priming_style_accuracy": round(means["both"], 4) if "both" in means else None,
        "style_by": main_mode,
        "per_writer_2_samples": {names[k]: round(v, 4) for k, v in two[main_mode].items()},
        "style_accuracy_trained_writers": round(seen_accuracy, 4),
        "per_writer": {names[k]: round(v, 4) for k, v in one[main_mode].items()},
        "bigbank_style_accuracy": None if bigbank_accuracy is None else round(bigbank_accuracy, 4),
        "chance": round(chance, 4),
        "temperature": args.temperature,
        "style_guidance": args.style_guidance,
        "checkpoint": str(path),
        "seconds": round(seconds, 1),
    }
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
