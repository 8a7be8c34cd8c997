"""Writing with a trained StrokeTransformer: sampling, priming with a real sample, streaming.

`Writer.write(["hello", "world"])` returns one `Sample` per phrase; `Writer.stream("hello")` yields
decoded steps `(deltas (D,), events (E,))` one at a time while the model generates them (the simulator and
the ROS node start moving before the phrase is done). Both run the KV-cached decoder: one decoder position
per step.

Sampling per channel (`Sampling` settings, trajtok.token_sampler): temperature (0 = greedy), then top-k,
then top-p (nucleus); the end step is all-or-nothing, decided by the first channel. Each phrase stops at its
end step or at its step budget, `max_steps_per_char` steps per character (a figure the trainer measures on the
data and stores in the checkpoint).
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence

import numpy as np
import torch
from torch import Tensor

from trajtok.checkpoint import Checkpoint, load_checkpoint
from trajtok.chunk_tokenizer import ChunkTokenizer
from trajtok.data.texts import covered_text_length
from trajtok.model import StrokeTransformer
from trajtok.phrase_layout import (
    FOLLOWS_CHARACTERS,
    FOLLOWS_WORDS,
    AttentionTrack,
    WordSpacer,
    blank_words,
    last_character,
    space_words,
    text_following,
)
from trajtok.sample import Sample
from trajtok.sampling import Sampling
from trajtok.step_decoder import generate_steps
from trajtok.strokes import thin_once
from trajtok.text import CharTokenizer, wrap_text
from trajtok.token_sampler import ChannelSampler
from trajtok.tokenizer_choice import AnyTokenizer

DEFAULT_STEPS_PER_CHAR = 40.0  # used when the checkpoint does not record `max_steps_per_char`
DEFAULT_SAMPLING = Sampling()
EMPTY_TEXT_CHARS = 10  # an empty (no-text) phrase gets the step budget of this many characters


class Writer:
    def __init__(
        self,
        model: StrokeTransformer,
        tokenizer: AnyTokenizer,
        text_tokenizer: CharTokenizer,
        device: str | torch.device = "cpu",
        max_steps_per_char: float = DEFAULT_STEPS_PER_CHAR,
        prime_spacing: float = 0.0,
        follows: str = "",
        min_word_gap: float = 0.0,
        line_chars: int | None = None,
        stitched_words: bool = False,
    ):
        """`prime_spacing`: the stroke thinning (x-heights of ink per point) of the training data; primes and
        style references are thinned the same way, unless they already are (`strokes.thin_once`), so their
        steps look like what the model learned (0 = use them as given).
        `follows`: what the model's cross-attention was measured to follow (phrase_layout.text_following:
        FOLLOWS_CHARACTERS, FOLLOWS_WORDS or ""): a phrase may end only once its last character (or word)
        has been written (trajtok.phrase_layout); then
        `min_word_gap` > 0 (handwriting units) keeps a gap at least that wide at every blank.
        `line_chars`: the longest text line the model was trained on (for the synthetic corpus, the length
        its texts reach, `texts.covered_text_length`: data.max_chars only caps them), None where unknown;
        a prime's text plus the phrase beyond it reaches text positions it never saw.
        `stitched_words`: the model learned lines stitched from single words (data.words_per_sample up to
        more than 1, a word bank): it writes a word best alone, so `trajtok write` lays its lines out
        word by word by default (trajtok.word_layout)."""
        if tuple(tokenizer.vocab_sizes) != model.vocab_sizes:
            raise ValueError(
                f"tokenizer vocab sizes {tokenizer.vocab_sizes} do not fit the model {model.vocab_sizes}"
            )
        self.device = torch.device(device)
        self.model = model.to(self.device).eval()
        self.tokenizer = tokenizer
        self.text_tokenizer = text_tokenizer
        self.max_steps_per_char = float(max_steps_per_char)
        self.prime_spacing = float(prime_spacing)
        self.follows = follows
        self.min_word_gap = float(min_word_gap) if follows else 0.0
        self.line_chars = line_chars
        self.stitched_words = stitched_words
        self.end_ids = torch.tensor([v - 1 for v in model.vocab_sizes], device=self.device)  # (C,)

    @classmethod
    def from_checkpoint(cls, path=None, device: str | torch.device = "cpu") -> Writer:
        """A run directory, a .pt file, or None for the shipped model."""
        return cls.from_loaded(load_checkpoint(path, map_location=device), device)

    @classmethod
    def from_loaded(cls, ckpt: Checkpoint, device: str | torch.device = "cpu") -> Writer:
        """The writer of a loaded checkpoint, with the facts its trainer recorded."""
        steps_per_char = ckpt.extra.get("max_steps_per_char", DEFAULT_STEPS_PER_CHAR)
        data = ckpt.data_config
        spacing = data.get("spacing", 0.0)
        gap = ckpt.extra.get("min_word_gap", 0.0)
        hershey = data and data.get("source", "hershey") == "hershey"
        line_chars = covered_text_length(data["max_chars"]) if hershey and "max_chars" in data else None
        stitched_words = max(data.get("words_per_sample") or [1]) > 1
        return cls(
            ckpt.model,
            ckpt.tokenizer,
            ckpt.text_tokenizer,
            device,
            steps_per_char,
            spacing,
            text_following(ckpt.extra),
            gap,
            line_chars,
            stitched_words,
        )

    # -- public API ------------------------------------------------------------------------------------
    def write(
        self,
        texts: str | Sequence[str],
        sampling: Sampling = DEFAULT_SAMPLING,
        prime: Sample | None = None,
        state: np.ndarray | None = None,
        style: Sample | None = None,
    ) -> list[Sample]:
        """One Sample per phrase (text = the phrase). `sampling.max_steps` overrides the per-character budget.

        `prime`: a real sample (with its text) teacher-forced first, so the phrase continues in its style; the
        returned samples hold only the new steps (their first delta starts from the prime's last point).
        `state`: (S,) or (B, S) conditioning vector for models trained with `state_dim > 0`.
        `style`: write in the hand of this sample (trajtok.style lays several out as one), for a model with
        a style encoder (`encodes_style`): it reads the sample's first `model.style_steps` steps; the text
        of the sample is not needed. A model without one refuses it (ValueError): give it as `prime`.
        """
        texts = [texts] if isinstance(texts, str) else list(texts)
        if not texts:
            return []
        prime, reference = self._conditioning(prime, style)
        track = self._track(texts, prime)
        steps = list(self._generate(texts, sampling, prime, state, track, reference))
        tokens = torch.stack(steps, dim=1).cpu().numpy()  # (B, T, C)
        states = (
            [None] * len(texts)
            if state is None
            else np.broadcast_to(state, (len(texts), np.shape(state)[-1]))
        )
        samples = []
        for i, text in enumerate(texts):
            row = tokens[i, : self._budget(text, sampling.max_steps, prime)]
            deltas, events = self._decoded(row)  # stops at the first end step
            sample = Sample(deltas, events, text=text, state=states[i])
            if self.min_word_gap and not self.chunked:  # the track is per step, a chunk token is not one
                focus = track.row(i)[: len(sample)]
                sample = space_words(sample, focus, self._blanks(text, prime), self.min_word_gap)
            samples.append(sample)
        return samples

    def stream(self, text: str, *args, **kwargs) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield `(deltas (D,), events (E,))` per step as it is generated; same steps as `write([text])`.
        Takes `stream_words`' arguments (sampling, prime, state, style)."""
        for _, step in self.stream_words(text, *args, **kwargs):
            yield step

    def stream_words(
        self,
        text: str,
        sampling: Sampling = DEFAULT_SAMPLING,
        prime: Sample | None = None,
        state: np.ndarray | None = None,
        style: Sample | None = None,
    ) -> Iterator[tuple[int, tuple[np.ndarray, np.ndarray]]]:
        """`stream`'s steps, each with the word of `text` it is of, as `write` declares it (`word_index`:
        the word spacer's, by the attended character) or -1 where the model does not follow the text."""
        prime, reference = self._conditioning(prime, style)
        end_id = int(self.end_ids[0])
        if self.chunked:  # a chunk decodes once it is whole: yield the steps of each chunk as it closes
            for step in self._stream_chunks(text, sampling, prime, state, reference):
                yield -1, step
            return
        track = self._track([text], prime)
        spacer = WordSpacer(self._blanks(text, prime), self.min_word_gap) if self.min_word_gap else None
        words = blank_words(text)
        for step in self._generate([text], sampling, prime, state, track, reference):
            ids = step[0].tolist()
            if ids[0] == end_id:
                break
            deltas, events = self.tokenizer.decode_step(ids)
            if spacer is None:
                yield -1, (deltas, events)
            else:
                for d, e, crossed in spacer.add(deltas, events, int(track.focus[-1][0])):
                    yield int(words[crossed]), (d, e)
        if spacer is not None:
            for d, e, crossed in spacer.flush():
                yield int(words[crossed]), (d, e)

    def _stream_chunks(
        self, text, sampling, prime, state, reference
    ) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        tokenizer, chunk = self.tokenizer, []
        for step in self._generate([text], sampling, prime, state, None, reference):
            token = int(step[0, 0])
            if token == tokenizer.eos_id:
                return
            chunk.append(token)
            if token >= tokenizer.end_base:
                deltas, events = tokenizer.decode(np.array(chunk), repair=True)
                if len(deltas) == 0:  # outside the data's range: stop, as write() would
                    return
                yield from zip(deltas, events, strict=True)
                chunk = []

    @torch.no_grad()
    def attention(
        self, sample: Sample, prime: Sample | None = None, style: Sample | None = None
    ) -> np.ndarray:
        """Last-layer cross-attention (T, L) of `sample`'s steps over `conditioning_text(sample.text, prime)`,
        `prime` and `style` as `write` was given them.

        The sample's steps are re-encoded with the tokenizer (decoded steps encode back to the same tokens).
        """
        prime, reference = self._conditioning(prime, style)
        ids, pad = self._text_batch([self.conditioning_text(sample.text, prime)])
        if not len(sample):
            return np.zeros((0, ids.shape[1]), np.float32)
        tokens = self.tokenizer.encode(sample.deltas, sample.events)  # (T, C)
        n_prime = 0
        if prime is not None:
            prime_tokens = self.tokenizer.encode(prime.deltas, prime.events)
            tokens, n_prime = np.concatenate([prime_tokens, tokens]), len(prime_tokens)
        state = None if sample.state is None else torch.as_tensor(sample.state, device=self.device)[None]
        steps = torch.as_tensor(tokens, device=self.device)[None]
        out = self.model(ids, pad, steps, state, need_attention=True, style=self._style_batch(reference, 1))
        return out.attention[0, n_prime:].float().cpu().numpy()

    def step_budget(self, text: str) -> int:
        """Steps a phrase may take before it is cut: `max_steps_per_char` per character."""
        return math.ceil(self.max_steps_per_char * (len(text) or EMPTY_TEXT_CHARS))

    def phrase_limit(
        self, text: str, sampling: Sampling = DEFAULT_SAMPLING, prime: Sample | None = None
    ) -> int:
        """Steps `write`/`stream` may generate for `text` before cutting it: the step budget, within what
        the model holds beside the prime."""
        return self._budget(text, sampling.max_steps, self._thinned(prime))

    def line_width(self, prime: Sample | None = None) -> int | None:
        """The most characters of a phrase one line may hold: the lines the model was trained on
        (`line_chars`), less a prime's text and blank; None where unknown."""
        if self.line_chars is None:
            return None
        return self.line_chars - (0 if prime is None else len(prime.text) + 1)

    def lines(self, text: str, prime: Sample | None = None) -> list[str]:
        """`text` as lines the model can write: cut at blanks into lines of `line_width` (past the lines
        it was trained on a model writes scribble); [text] when it fits."""
        return wrap_text(text, self.line_width(prime))

    @staticmethod
    def conditioning_text(text: str, prime: Sample | None = None) -> str:
        """The text the model reads: the prime's text, a space, then the phrase (or just the phrase)."""
        return text if prime is None else f"{prime.text} {text}"

    @property
    def encodes_style(self) -> bool:
        """The model reads a writer's hand from reference steps (model.style_steps > 0), so `style` is not a
        prime: it takes no text positions and no decoder steps from the phrase."""
        return self.model.config.style_steps > 0

    # -- internals -------------------------------------------------------------------------------------
    def _thinned(self, prime: Sample | None) -> Sample | None:
        return None if prime is None else thin_once(prime, self.prime_spacing)

    def _conditioning(
        self, prime: Sample | None, style: Sample | None
    ) -> tuple[Sample | None, Tensor | None]:
        """(the prime, thinned; the style reference's step tokens (R, C) for the style encoder, or None)."""
        reference = None
        if style is not None:
            if not self.encodes_style:
                raise ValueError(
                    "this model has no style encoder (model.style_steps=0): prime it with the style instead"
                )
            thinned = thin_once(style, self.prime_spacing)
            tokens = self.tokenizer.encode(thinned.deltas, thinned.events)
            reference = torch.as_tensor(tokens[: self.model.config.style_steps], device=self.device)
        return self._thinned(prime), reference

    def _style_batch(
        self, reference: Tensor | None, b: int, without: int = 0
    ) -> tuple[Tensor, Tensor] | None:
        """The reference for `b` rows, then `without` rows that read none (the no_style hand)."""
        if reference is None:
            return None
        tokens = reference[None].expand(b + without, -1, -1)
        mask = torch.ones(tokens.shape[:2], dtype=torch.bool, device=self.device)
        mask[b:] = False
        return tokens, mask

    def _text_batch(self, texts: list[str]) -> tuple[Tensor, Tensor]:
        max_text = self.model.config.max_text
        ids, pad, truncated = self.text_tokenizer.encode_batch(texts, max_len=max_text)
        if truncated.any():
            long = texts[int(np.flatnonzero(truncated)[0])]
            raise ValueError(f"text {long!r} has {len(long)} characters; this model reads at most {max_text}")
        problems = [p for t in texts if (p := self.text_tokenizer.alphabet_problem(t))]
        if problems:
            raise ValueError(problems[0])
        return torch.as_tensor(ids, device=self.device), torch.as_tensor(pad, device=self.device)

    def _track(self, texts: list[str], prime: Sample | None) -> AttentionTrack | None:
        """The attention track and end gate of a batch, for models whose attention follows the text."""
        if not self.follows:
            return None
        offset = len(self.conditioning_text("", prime))  # where the phrase starts in the text the model reads

        def indices(follows: str) -> list[int]:
            return [i + offset if (i := last_character(t, follows)) >= 0 else -1 for t in texts]

        chars = indices(FOLLOWS_CHARACTERS) if self.follows == FOLLOWS_WORDS else None  # the lift rule's
        return AttentionTrack(indices(self.follows), self.device, chars)

    @staticmethod
    def _blanks(text: str, prime: Sample | None) -> list[int]:
        """Indices of the phrase's blanks in the text the model reads."""
        offset = len(Writer.conditioning_text("", prime))
        return [offset + i for i, ch in enumerate(text) if ch == " "]

    def _generate(
        self, texts, sampling: Sampling, prime, state, track=None, reference=None
    ) -> Iterator[Tensor]:
        """Yield step tokens (B, C) until every phrase has ended or used its budget."""
        if not texts:
            return
        ids, pad = self._text_batch([self.conditioning_text(t, prime) for t in texts])
        b = len(texts)
        prime_tokens = None
        if prime is not None:
            encoded = torch.as_tensor(self.tokenizer.encode(prime.deltas, prime.events), device=self.device)
            prime_tokens = encoded[None].expand(b, -1, -1)  # (B, P, C)
        budgets = [self._budget(t, sampling.max_steps, prime) for t in texts]
        state_t = None
        if state is not None:
            state_t = torch.as_tensor(np.asarray(state, dtype=np.float32), device=self.device).expand(b, -1)
        generator = torch.Generator(device=self.device)
        if sampling.seed is None:
            generator.seed()
        else:
            generator.manual_seed(sampling.seed)
        grammar = self.tokenizer.grammar(b) if self.chunked else None
        pick = ChannelSampler(self.model.vocab_sizes, b, sampling, generator, self.device, grammar)
        if track is not None and self.follows == FOLLOWS_WORDS and not self.chunked:  # word-bank cursive
            pick = track.lifting(pick, self.tokenizer.n_dims)

        guidance = 1.0 if reference is None else sampling.style_guidance
        if guidance != 1.0:  # the same phrases once more without the reference: classifier-free guidance
            ids, pad = torch.cat([ids, ids]), torch.cat([pad, pad])
            state_t = None if state_t is None else torch.cat([state_t, state_t])
        memory = self.model.encode(ids, pad, state_t, self._style_batch(reference, b, len(ids) - b))
        ended = torch.zeros(b, dtype=torch.bool, device=self.device)
        budgets_t = torch.tensor(budgets, device=self.device)
        steps = generate_steps(
            self.model, memory, pick, max(budgets), prime_tokens, end_allowed=track, guidance=guidance
        )
        for t, step in enumerate(steps):
            yield step
            ended |= self._is_end(step)
            if bool((ended | (budgets_t <= t + 1)).all()):
                return

    def _budget(self, text: str, max_steps: int | None, prime: Sample | None) -> int:
        """Steps phrase `text` may generate: `max_steps` or its per-character budget, within max_steps."""
        room = self.model.config.max_steps - (0 if prime is None else len(prime))
        if room < 1:
            raise ValueError(
                f"the prime has {len(prime)} steps; this model handles fewer than {len(prime) - room}"
            )
        return min(max_steps or self.step_budget(text), room)

    @property
    def chunked(self) -> bool:
        """A chunk scheme (dct, bspline): one code token per model step, decoded chunk by chunk."""
        return isinstance(self.tokenizer, ChunkTokenizer)

    def _decoded(self, tokens: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Generated tokens -> (deltas, events). A chunk stream cut by the step budget, or whose last chunk
        decodes outside the data's range (the one thing the sampler's mask cannot rule out), keeps the whole
        chunks before that point."""
        if self.chunked:
            return self.tokenizer.decode(tokens, repair=True)
        return self.tokenizer.decode(tokens)

    def _is_end(self, step: Tensor) -> Tensor:  # step (B, C) -> (B,) bool
        return step[:, 0] == self.end_ids[0]
