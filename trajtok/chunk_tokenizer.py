"""ChunkTokenizer: the `dct` (FAST) and `bspline` (BEAST) schemes, H-step chunks of deltas <-> one stream.

Same API as TrajectoryTokenizer (fit / encode / encode_batch / decode / decode_batch / save / load, JSON with
format and version, ValueError naming the trajectory or chunk), with one model channel, `code`:
`encode` gives (N, 1) int64 tokens, so the model, batching and sampler treat each token as one step.

A trajectory is cut into chunks of `chunk` steps (H). Padding rule: a last chunk (or a whole trajectory)
shorter than H is padded by repeating its last delta, and the chunk's end token records how many of its steps
are real, so decoding returns exactly the trajectory's length. Each chunk is
    [event marks] [content] [end of chunk with n real steps]
- event marks: "event e at step k of the chunk", in increasing (e, k) order, one per step where the event
  is on (`on` coding: pen lifts) or where it changes (`toggle` coding: a gripper held closed for many steps);
  `fit` picks per event the coding with fewer marks on the training events. Events stay discrete event
  channels, never transformed;
- content, `dct`: per dim, the DCT-II (scipy.fft, orthonormal) of the chunk's deltas divided by the dim's
  scale (its 99th percentile of |delta|), times `scale`, rounded; flattened low frequencies first (frequency
  major, dim minor), trailing zeros dropped (the end token closes the chunk: missing coefficients are 0), then
  byte-pair encoded (HuggingFace `tokenizers`, trained by `fit`, `bpe_vocab` ids);
- content, `bspline`: per dim, the `n_control` control points of the clamped cubic B-spline (scipy) fitted to
  the chunk by least squares, each uniformly quantized to `n_levels` levels over the fitted range of that
  dim's control points (control-point major, dim minor); exactly n_control * D ids.
Error feedback (the default): each chunk is encoded with the position error left by the chunks before it
spread over its real steps, so the end point is off by about one chunk's error, not the sum of all of them.

Decoding never returns silent garbage: a sequence either decodes to trajectories of the stated lengths, with
every delta inside `value_range`, or raises ValueError naming the chunk. Encoding clips coefficients to the
fitted per-coefficient range (counted in `clipped`), so whatever it encodes decodes. `grammar(batch)` gives
the sampler a mask that keeps generated sequences decodable; `decode(..., repair=True)` keeps the chunks
before the first bad one (what generation uses, for the value range no mask can promise).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from trajtok.errors import DataError
from trajtok.tokenizer import checked_shape
from trajtok.tokenizer_io import SavedTokenizer

FORMAT = "trajtok.chunk_tokenizer"
VERSION = 1
CHUNK_SCHEMES = ("dct", "bspline")
SCALE_PERCENTILE = 99.0  # dct: each dim is divided by this percentile of |delta| before the transform
RANGE_MARGIN = 0.25  # decoded deltas may exceed the fitted range by this share of its span, no more
CHAR_BASE = 0x4E00  # dct: coefficient v is the character chr(CHAR_BASE + v - lowest) for BPE
SPLINE_DEGREE = 3


class ChunkTokenizer(SavedTokenizer):
    """Chunked deltas + per-step events <-> one stream of `code` tokens (see the module docstring)."""

    layout = "flat"  # one token stream; the model sees it as steps of one channel

    def __init__(
        self,
        dim_names: Sequence[str],
        event_names: Sequence[str] = (),
        scheme: str = "dct",
        chunk: int = 10,
        scale: float = 10.0,
        bpe_vocab: int = 1024,
        n_control: int = 6,
        n_levels: int = 256,
        error_feedback: bool = True,
        eos: bool = True,
        pad_short: bool = True,
        max_vocab: int | None = None,
    ):
        self.dim_names = tuple(str(n) for n in dim_names)
        self.event_names = tuple(str(n) for n in event_names)
        names = self.dim_names + self.event_names
        if not self.dim_names:
            raise ValueError("a chunk tokenizer needs at least one dimension name")
        if len(set(names)) != len(names):
            raise ValueError(f"dimension and event names must be unique, got {names}")
        if scheme not in CHUNK_SCHEMES:
            raise ValueError(f"unknown chunk scheme {scheme!r}; choose one of {', '.join(CHUNK_SCHEMES)}")
        if int(chunk) < 2:
            raise ValueError(f"chunk must be at least 2 steps, got {chunk}")
        if scheme == "bspline" and not SPLINE_DEGREE + 1 <= int(n_control) <= int(chunk):
            raise ValueError(
                f"bspline: n_control must be in {SPLINE_DEGREE + 1}..chunk ({chunk}), got {n_control}"
            )
        if not float(scale) > 0 or int(n_levels) < 2 or int(bpe_vocab) < 2:
            raise ValueError(
                f"need scale > 0, n_levels >= 2, bpe_vocab >= 2 (got {scale}, {n_levels}, {bpe_vocab})"
            )
        if not eos:
            raise ValueError("chunk tokenizers always end sequences with EOS (eos=True)")
        self.scheme = scheme
        self.chunk = int(chunk)
        self.scale = float(scale)
        self.bpe_vocab = int(bpe_vocab)
        self.n_control = int(n_control)
        self.n_levels = int(n_levels)
        self.error_feedback = bool(error_feedback)
        self.eos = True
        self.pad_short = bool(pad_short)
        self.max_vocab = None if max_vocab is None else int(max_vocab)
        self.fit_summary: dict = {}
        self.clipped = np.zeros(self.n_dims, dtype=np.int64)
        self._fitted: dict | None = None  # see _set_fitted
        if self.max_vocab is not None and self._planned_vocab() > self.max_vocab:
            raise ValueError(
                f"{scheme}: {self._planned_vocab()} ids (content + {self.n_events * self.chunk} event marks "
                "+ "
                f"{self.chunk} chunk ends + EOS) do not fit the token budget max_vocab={self.max_vocab}; "
                "lower bpe_vocab / n_levels or the chunk length"
            )

    # ---- vocabulary ----------------------------------------------------------------------------------
    @property
    def n_channels(self) -> int:
        return 1

    @property
    def channel_names(self) -> tuple[str, ...]:
        return ("code",)

    @property
    def event_channels(self) -> tuple[int, ...]:
        """Model channels holding events (the loss weighs them differently): none, events are marks."""
        return ()

    @property
    def n_content(self) -> int:
        return self.bpe_vocab if self.scheme == "dct" else self.n_levels

    def _planned_vocab(self) -> int:
        return self.n_content + self.n_events * self.chunk + self.chunk + 1

    @property
    def mark_base(self) -> int:
        return self.n_content

    @property
    def end_base(self) -> int:
        """Id of "end of a chunk with 1 real step"; + n - 1 for n real steps."""
        return self.n_content + self.n_events * self.chunk

    @property
    def eos_id(self) -> int:
        return self.end_base + self.chunk

    @property
    def vocab_sizes(self) -> tuple[int, ...]:
        return (self.eos_id + 1,)

    @property
    def vocab_size(self) -> int:
        return self.eos_id + 1

    @property
    def eos_ids(self) -> tuple[int, ...]:
        return (self.eos_id,)

    @property
    def is_fitted(self) -> bool:
        return self._fitted is not None

    @property
    def value_range(self) -> np.ndarray:
        """(D, 2) the range decoded deltas must lie in: the fitted deltas' range widened by RANGE_MARGIN."""
        self._require_fitted()
        return self._fitted["value_range"]

    def _require_fitted(self) -> None:
        if self._fitted is None:
            raise ValueError("the tokenizer is not fitted yet; call fit(deltas) or load a saved one")

    # ---- the transforms ------------------------------------------------------------------------------
    def _coefficients(self, chunks: np.ndarray) -> np.ndarray:
        """(K, H, D) deltas -> (K, P) coefficients before rounding (dct: P = H * D; bspline: n_control*D)."""
        if self.scheme == "dct":
            import scipy.fft  # here, not at the top: the command line names CHUNK_SCHEMES without scipy

            coef = (
                scipy.fft.dct(chunks / self._fitted["dim_scale"], type=2, norm="ortho", axis=1) * self.scale
            )
        else:
            coef = np.einsum("kh,nhd->nkd", self._fitted["fit_matrix"], chunks)
        return coef.reshape(len(chunks), -1)

    def _quantized(self, coef: np.ndarray) -> np.ndarray:
        """(K, P) coefficients -> (K, P) int64 quantized, clipped to the fitted per-coefficient range."""
        f = self._fitted
        if self.scheme == "dct":
            q = np.rint(coef).astype(np.int64)
        else:
            lo, step = np.tile(f["ctrl_lo"], self.n_control), np.tile(f["ctrl_step"], self.n_control)
            q = np.rint((coef - lo) / step).astype(np.int64)
        return np.clip(q, f["q_lo"], f["q_hi"])

    def _reconstructed(self, q: np.ndarray) -> np.ndarray:
        """(K, P) quantized coefficients -> (K, H, D) deltas."""
        f = self._fitted
        if self.scheme == "dct":
            import scipy.fft

            coef = q.reshape(len(q), self.chunk, self.n_dims) / self.scale
            return scipy.fft.idct(coef, type=2, norm="ortho", axis=1) * f["dim_scale"]
        lo, step = np.tile(f["ctrl_lo"], self.n_control), np.tile(f["ctrl_step"], self.n_control)
        ctrl = (lo + q * step).reshape(len(q), self.n_control, self.n_dims)
        return np.einsum("hk,nkd->nhd", f["basis"], ctrl)

    # ---- fitting -------------------------------------------------------------------------------------
    def fit(self, deltas: Sequence[np.ndarray] | np.ndarray, events=None) -> ChunkTokenizer:
        """Fit the scales / ranges (and the BPE merges for dct) to a list of (T, D) deltas, and with the
        matching (T, E) events each event's mark coding (else `on`); returns self."""
        trajectories = self._checked_list(deltas)
        if not trajectories:
            raise ValueError("cannot fit a tokenizer to no trajectories")
        stacked = np.concatenate(trajectories)
        lo, hi = stacked.min(axis=0), stacked.max(axis=0)
        span = np.maximum(hi - lo, 1e-12)
        fitted = {"value_range": np.stack([lo - RANGE_MARGIN * span, hi + RANGE_MARGIN * span], axis=1)}
        fitted["toggle"] = np.zeros(self.n_events, dtype=bool)
        if events is not None and self.n_events:
            checked = [
                self._checked_events(e, len(d), f"trajectory {i}")
                for i, (d, e) in enumerate(zip(trajectories, events, strict=True))
            ]
            n_on = sum(e.sum(axis=0) for e in checked)
            n_changes = sum(_changes(e).sum(axis=0) for e in checked)
            fitted["toggle"] = n_changes < n_on
        if self.scheme == "dct":
            fitted["dim_scale"] = np.maximum(np.percentile(np.abs(stacked), SCALE_PERCENTILE, axis=0), 1e-12)
        else:
            fitted.update(_spline_matrices(self.chunk, self.n_control))
        self._fitted = fitted
        chunks, _ = self._chunked(trajectories, where=lambda i: f"trajectory {i}")
        coef = self._coefficients(chunks)
        if self.scheme == "dct":
            q = np.rint(coef).astype(np.int64)
            fitted["q_lo"], fitted["q_hi"] = q.min(axis=0), q.max(axis=0)
            self._fit_bpe(q)
        else:
            ctrl = coef.reshape(len(coef), self.n_control, self.n_dims)
            c_lo, c_hi = ctrl.min(axis=(0, 1)), ctrl.max(axis=(0, 1))
            fitted["ctrl_lo"], fitted["ctrl_step"] = (
                c_lo,
                np.maximum(c_hi - c_lo, 1e-12) / (self.n_levels - 1),
            )
            fitted["q_lo"] = np.zeros(coef.shape[1], dtype=np.int64)
            fitted["q_hi"] = np.full(coef.shape[1], self.n_levels - 1, dtype=np.int64)
            # the spline lies in its control points' hull: the quantization range bounds what decodes
            fitted["value_range"] = np.stack(
                [
                    np.minimum(fitted["value_range"][:, 0], c_lo),
                    np.maximum(fitted["value_range"][:, 1], c_hi),
                ],
                1,
            )
        self.fit_summary = {
            "n_trajectories": len(trajectories),
            "n_steps": int(len(stacked)),
            "n_chunks": len(coef),
        }
        self.clipped = np.zeros(self.n_dims, dtype=np.int64)
        return self

    def _fit_bpe(self, q: np.ndarray) -> None:
        """Train the byte-pair merges over the chunks' coefficient strings (the FAST recipe)."""
        from tokenizers import Tokenizer, models, trainers

        f = self._fitted
        lowest, highest = int(f["q_lo"].min()), int(f["q_hi"].max())
        n_symbols = highest - lowest + 1
        if n_symbols > self.bpe_vocab:
            self._fitted = None
            raise ValueError(
                f"dct: the coefficients take {n_symbols} integer values ({lowest}..{highest}) but bpe_vocab="
                f"{self.bpe_vocab} has no room for them and their merges; raise bpe_vocab or lower scale"
            )
        f["lowest"] = lowest
        bpe = Tokenizer(models.BPE())
        alphabet = [chr(CHAR_BASE + v) for v in range(n_symbols)]
        trainer = trainers.BpeTrainer(
            vocab_size=self.bpe_vocab, initial_alphabet=alphabet, show_progress=False, min_frequency=2
        )
        bpe.train_from_iterator(self._strings(q), trainer=trainer)
        self._set_bpe(bpe)

    def _set_bpe(self, bpe) -> None:
        """Keep the BPE model and a table id -> its coefficients (for decoding and the sampler's mask)."""
        f = self._fitted
        vocab = bpe.get_vocab()
        if max(vocab.values()) >= self.bpe_vocab:
            raise ValueError(f"BPE vocabulary has {len(vocab)} ids, more than bpe_vocab={self.bpe_vocab}")
        pieces = [np.zeros(0, np.int64)] * self.bpe_vocab
        for piece, i in vocab.items():
            pieces[i] = np.array([ord(ch) - CHAR_BASE + f["lowest"] for ch in piece], dtype=np.int64)
        f["bpe"], f["pieces"] = bpe, pieces
        f["piece_len"] = np.array([len(p) for p in pieces], dtype=np.int64)

    def _strings(self, q: np.ndarray) -> list[str]:
        """(K, P) coefficients -> one BPE string per chunk, trailing zeros dropped."""
        base = CHAR_BASE - self._fitted["lowest"]
        strings = []
        for row in q:
            nonzero = np.flatnonzero(row)
            row = row[: nonzero[-1] + 1] if len(nonzero) else row[:0]
            strings.append("".join(map(chr, (row + base).tolist())))
        return strings

    # ---- encoding ------------------------------------------------------------------------------------
    def encode(self, deltas, events, add_eos: bool = False, error_feedback: bool | None = None) -> np.ndarray:
        """deltas (T, D) + events (T, E) -> (N, 1) int64 code tokens (with a last EOS row if add_eos)."""
        return self._encode([deltas], [events], add_eos, error_feedback, where=lambda i: "trajectory")[0]

    def encode_batch(self, deltas, events, add_eos: bool = False, error_feedback: bool | None = None) -> list:
        deltas = list(deltas)
        events = [None] * len(deltas) if events is None else list(events)
        if len(events) != len(deltas):
            raise ValueError(f"got {len(deltas)} delta arrays but {len(events)} event arrays")
        return self._encode(deltas, events, add_eos, error_feedback, where=lambda i: f"trajectory {i}")

    def _encode(self, deltas_list, events_list, add_eos, error_feedback, where) -> list[np.ndarray]:
        self._require_fitted()
        trajectories = [self._checked(d, where(i)) for i, d in enumerate(deltas_list)]
        events = [
            self._checked_events(e, len(d), where(i))
            for i, (d, e) in enumerate(zip(trajectories, events_list, strict=True))
        ]
        feedback = self.error_feedback if error_feedback is None else bool(error_feedback)
        chunks, n_real = self._chunked(trajectories, where)
        q = self._encode_chunks(chunks, n_real, trajectories, feedback)
        contents = self._content_ids(q)
        out, k = [], 0
        for d, ev in zip(trajectories, events, strict=True):
            marked = np.where(self._fitted["toggle"], _changes(ev), ev)
            ids = []
            for c in range(-(-len(d) // self.chunk)):
                real = int(n_real[k])
                on_events, on_steps = np.nonzero(marked[c * self.chunk : c * self.chunk + real].T)
                ids += (self.mark_base + on_events * self.chunk + on_steps).tolist()
                ids += contents[k]
                ids.append(self.end_base + real - 1)
                k += 1
            if add_eos:
                ids.append(self.eos_id)
            out.append(np.array(ids, dtype=np.int64)[:, None])
        return out

    def _encode_chunks(self, chunks, n_real, trajectories, feedback: bool) -> np.ndarray:
        """(K, H, D) chunks -> (K, P) quantized coefficients; with feedback, chunk by chunk per trajectory."""
        if not feedback:
            return self._clip_count(self._coefficients(chunks))
        q = np.empty((len(chunks), self._n_coefficients()), dtype=np.int64)
        n_chunks = np.array([-(-len(d) // self.chunk) for d in trajectories])
        firsts = np.cumsum(n_chunks) - n_chunks
        error = np.zeros((len(trajectories), self.n_dims))
        real_mask = np.arange(self.chunk)[None, :] < n_real[:, None]  # (K, H)
        for c in range(int(n_chunks.max())):
            live = np.flatnonzero(n_chunks > c)
            rows = firsts[live] + c
            target = chunks[rows] + (error[live] / n_real[rows, None])[:, None, :] * real_mask[rows, :, None]
            q[rows] = self._clip_count(self._coefficients(target))
            decoded = self._reconstructed(q[rows])
            error[live] = ((target - decoded) * real_mask[rows, :, None]).sum(axis=1)
        return q

    def _n_coefficients(self) -> int:
        return self.n_dims * (self.chunk if self.scheme == "dct" else self.n_control)

    def _clip_count(self, coef: np.ndarray) -> np.ndarray:
        q = self._quantized(coef)
        raw = np.rint(coef if self.scheme == "dct" else q)
        clipped = (q != raw).reshape(len(q), -1, self.n_dims).any(axis=0).sum(axis=0) if len(q) else 0
        self.clipped += clipped
        return q

    def _content_ids(self, q: np.ndarray) -> list[list[int]]:
        if self.scheme == "bspline":
            return q.tolist()
        return [e.ids for e in self._fitted["bpe"].encode_batch(self._strings(q))]

    def _chunked(self, trajectories: list[np.ndarray], where) -> tuple[np.ndarray, np.ndarray]:
        """Trajectories -> (K, H, D) chunks (the last padded by repeating the last delta), (K,) real steps."""
        H = self.chunk
        chunks, n_real = [], []
        for i, d in enumerate(trajectories):
            if len(d) < H and not self.pad_short:
                raise ValueError(
                    f"{where(i)}: {len(d)} steps is shorter than one chunk ({H} steps) and pad_short=False; "
                    "use a shorter chunk or pad_short=True (pads by repeating the last delta)"
                )
            n = -(-len(d) // H)
            padded = np.concatenate([d, np.repeat(d[-1:], n * H - len(d), axis=0)])
            chunks.append(padded.reshape(n, H, self.n_dims))
            n_real.append(np.minimum(H, len(d) - H * np.arange(n)))
        return np.concatenate(chunks).astype(np.float64), np.concatenate(n_real)

    # ---- decoding ------------------------------------------------------------------------------------
    def decode(self, tokens: np.ndarray, repair: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """(N, 1) or (N,) code tokens -> (deltas (T, D) float32, events (T, E) bool); stops at EOS.

        A bad chunk raises ValueError naming it; with `repair`, the chunks before it are returned instead."""
        return self._decode_one(np.asarray(tokens), "tokens", repair)

    def decode_batch(self, tokens: Sequence[np.ndarray], repair: bool = False) -> list:
        return [self._decode_one(np.asarray(t), f"tokens {i}", repair) for i, t in enumerate(tokens)]

    def decode_step(self, step):
        raise ValueError(
            f"a {self.scheme} tokenizer decodes whole chunks, not single steps; decode the chunk's tokens"
        )

    def _decode_one(self, tokens: np.ndarray, where: str, repair: bool):
        self._require_fitted()
        if tokens.dtype.kind not in "iu":
            raise ValueError(f"{where}: token ids must be integers, got dtype {tokens.dtype}")
        if tokens.ndim == 2 and tokens.shape[1] == 1:
            tokens = tokens[:, 0]
        if tokens.ndim != 1:
            raise ValueError(f"{where}: code tokens must have shape (N,) or (N, 1), got {tokens.shape}")
        deltas, events = [], []
        try:
            for k, (marks, content, n_real) in enumerate(self._parse(tokens.tolist())):
                try:
                    d, e = self._decode_chunk(marks, content, n_real)
                except ValueError as exc:
                    raise ValueError(f"{where}: chunk {k}: {exc}") from None
                deltas.append(d)
                events.append(e)
        except ValueError:
            if not repair:
                raise
        if not deltas:
            return np.zeros((0, self.n_dims), np.float32), np.zeros((0, self.n_events), bool)
        marked = np.concatenate(events)
        toggled = np.cumsum(marked, axis=0) % 2 == 1
        return np.concatenate(deltas).astype(np.float32), np.where(self._fitted["toggle"], toggled, marked)

    def _parse(self, ids: list[int]):
        """Yield (marks, content ids, real steps) per chunk until EOS; raise on a malformed stream."""
        marks, content, k = [], [], 0
        for i in ids:
            if i == self.eos_id:
                if marks or content:
                    raise ValueError(f"tokens: chunk {k}: EOS before the chunk's end token")
                return
            if not 0 <= i < self.eos_id:
                raise ValueError(f"tokens: chunk {k}: id {i} is not a valid code token (0..{self.eos_id})")
            if i >= self.end_base:
                yield marks, content, i - self.end_base + 1
                marks, content, k = [], [], k + 1
            elif i >= self.mark_base:
                if content or (marks and i <= marks[-1]):
                    raise ValueError(f"tokens: chunk {k}: event mark {i} out of order")
                marks.append(i)
            else:
                content.append(i)
        if marks or content:
            raise ValueError(f"tokens: chunk {k}: the sequence ends inside a chunk (no end token)")

    def _decode_chunk(self, marks: list[int], content: list[int], n_real: int):
        f = self._fitted
        if self.scheme == "bspline":
            if len(content) != self._n_coefficients():
                raise ValueError(f"{len(content)} control-point ids, expected {self._n_coefficients()}")
            q = np.array(content, dtype=np.int64)
        else:
            pieces = [f["pieces"][i] for i in content]
            q = np.concatenate(pieces) if pieces else np.zeros(0, np.int64)
            if len(q) > self._n_coefficients() or any(len(p) == 0 for p in pieces):
                raise ValueError(f"{len(q)} DCT coefficients, at most {self._n_coefficients()} fit a chunk")
            q = np.concatenate([q, np.zeros(self._n_coefficients() - len(q), np.int64)])
        bad = np.flatnonzero((q < f["q_lo"]) | (q > f["q_hi"]))
        if len(bad):
            raise ValueError(f"coefficient {bad[0]} = {q[bad[0]]} is outside the fitted range")
        deltas = self._reconstructed(q[None])[0, :n_real]
        lo, hi = f["value_range"][:, 0], f["value_range"][:, 1]
        outside = (deltas < lo) | (deltas > hi)
        if outside.any():
            t, j = np.argwhere(outside)[0]
            raise ValueError(
                f"step {t} decodes {self.dim_names[j]}={deltas[t, j]:.4g}, outside {lo[j]:.4g}..{hi[j]:.4g}"
            )
        events = np.zeros((n_real, self.n_events), dtype=bool)
        for mark in marks:
            e, step = divmod(mark - self.mark_base, self.chunk)
            if step >= n_real:
                raise ValueError(f"event {self.event_names[e]!r} at step {step} of a {n_real}-step chunk")
            events[step, e] = True
        return deltas, events

    # ---- generation: the sampler's mask ---------------------------------------------------------------
    def grammar(self, batch: int) -> ChunkGrammar:
        self._require_fitted()
        return ChunkGrammar(self, batch)

    def token_steps(self, tokens: np.ndarray) -> np.ndarray:
        """(N,) index of the first step of the chunk each token belongs to (the EOS row: the step after)."""
        ids = np.asarray(tokens).reshape(-1)
        ends = ids >= self.end_base
        real = np.where(ends & (ids < self.eos_id), ids - self.end_base + 1, 0)
        steps_before = np.concatenate([[0], np.cumsum(real)[:-1]])
        return steps_before

    # ---- input checks ----------------------------------------------------------------------------------
    def _checked_list(self, deltas) -> list[np.ndarray]:
        return [self._checked(d, f"trajectory {i}") for i, d in enumerate(list(deltas))]

    def _checked(self, deltas, where: str) -> np.ndarray:
        array = checked_shape(deltas, self.dim_names, where)
        bad = ~np.isfinite(array)
        if bad.any():
            t, j = np.argwhere(bad)[0]
            kind = "NaN" if np.isnan(array[t, j]) else "inf"
            raise ValueError(
                f"{where}: {kind} in deltas at step {t}, dim {self.dim_names[j]!r} (chunk {t // self.chunk})"
            )
        return array.astype(np.float64)

    def _checked_events(self, events, n_steps: int, where: str) -> np.ndarray:
        if events is None:
            if self.n_events:
                raise ValueError(f"{where}: events {self.event_names} are missing (got None)")
            return np.zeros((n_steps, 0), dtype=bool)
        array = np.asarray(events)
        if array.shape != (n_steps, self.n_events):
            raise ValueError(
                f"{where}: events must have shape ({n_steps}, {self.n_events}) for {self.event_names}, "
                f"got {array.shape}"
            )
        if array.dtype != bool and not np.isin(array, (0, 1)).all():
            raise ValueError(f"{where}: events must be 0/1")
        return array.astype(bool)

    # ---- persistence -----------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        self._require_fitted()
        f = self._fitted
        fitted = {
            k: np.asarray(v).tolist()
            for k, v in f.items()
            if k not in ("bpe", "pieces", "piece_len", "fit_matrix", "basis")
        }
        if self.scheme == "dct":
            fitted["bpe"] = f["bpe"].to_str()
        return {
            "format": FORMAT,
            "version": VERSION,
            "scheme": self.scheme,
            "dim_names": list(self.dim_names),
            "event_names": list(self.event_names),
            "settings": self._settings(),
            "fitted": fitted,
            "fit": dict(self.fit_summary),
        }

    def _settings(self) -> dict:
        return {
            "chunk": self.chunk,
            "scale": self.scale,
            "bpe_vocab": self.bpe_vocab,
            "n_control": self.n_control,
            "n_levels": self.n_levels,
            "error_feedback": self.error_feedback,
            "pad_short": self.pad_short,
        }

    @classmethod
    def from_dict(cls, data: dict, where: str = "tokenizer") -> ChunkTokenizer:
        """Rebuild from `to_dict()`; another kind of file, a newer version or damage raise DataError."""
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            kind = data.get("scheme") if isinstance(data, dict) else None
            raise DataError(
                f"{where}: not a chunk tokenizer (format {FORMAT!r}); it holds a {kind or 'foreign'} "
                "tokenizer: "
                "load it with trajtok.tokenizer_choice.load_tokenizer"
            )
        if data.get("version") != VERSION:
            raise DataError(
                f"{where}: chunk tokenizer version {data.get('version')!r}, this trajtok reads {VERSION}"
            )
        try:
            tokenizer = cls(data["dim_names"], data["event_names"], scheme=data["scheme"], **data["settings"])
            f = {k: np.asarray(v) for k, v in data["fitted"].items() if k != "bpe"}
            f["toggle"] = f["toggle"].astype(bool).reshape(tokenizer.n_events)
            f["value_range"] = f["value_range"].astype(np.float64).reshape(tokenizer.n_dims, 2)
            for key in ("q_lo", "q_hi"):
                f[key] = f[key].astype(np.int64).reshape(tokenizer._n_coefficients())
            if tokenizer.scheme == "bspline":
                f.update(_spline_matrices(tokenizer.chunk, tokenizer.n_control))
            tokenizer._fitted = f
            if tokenizer.scheme == "dct":
                from tokenizers import Tokenizer

                f["lowest"] = int(f["lowest"])
                tokenizer._set_bpe(Tokenizer.from_str(data["fitted"]["bpe"]))
        except (KeyError, TypeError, ValueError) as exc:
            detail = f"missing key {exc}" if isinstance(exc, KeyError) else str(exc)
            raise DataError(f"{where}: damaged chunk tokenizer ({detail}); refit it") from None
        tokenizer.fit_summary = dict(data.get("fit") or {})
        return tokenizer

    def __repr__(self) -> str:
        return (
            f"ChunkTokenizer(scheme={self.scheme!r}, dims={self.dim_names}, events={self.event_names}, "
            f"chunk={self.chunk}, vocab={self.vocab_size}, fitted={self.is_fitted})"
        )


class ChunkGrammar:
    """What may come next in each of `batch` generated code streams, so that every stream decodes.

    `mask()` -> (batch, V) bool of allowed ids; `advance(ids)` records the chosen ones. Rules: event marks
    first, in increasing order; then content (bspline: exactly n_control * D ids; dct: BPE pieces whose
    coefficients fit the chunk and stay inside the fitted per-coefficient range); then the chunk's end token
    (not before its marks' steps); EOS only between chunks.
    """

    def __init__(self, tokenizer: ChunkTokenizer, batch: int):
        t = self.tokenizer = tokenizer
        f = t._fitted
        self.n_coef = t._n_coefficients()
        self.filled = np.zeros(batch, dtype=np.int64)  # coefficients (dct) or ids (bspline) of the open chunk
        self.last_mark = np.full(batch, -1, dtype=np.int64)  # last mark id of the open chunk, -1 = none
        self.in_content = np.zeros(batch, dtype=bool)
        self.done = np.zeros(batch, dtype=bool)
        V = t.vocab_size
        self.ids = np.arange(V)
        if t.scheme == "dct":
            # piece_ok[p, i]: piece i may start at coefficient p (fits, every coefficient in range)
            length = f["piece_len"]
            ok = np.zeros((self.n_coef + 1, t.n_content), dtype=bool)
            for i, piece in enumerate(f["pieces"]):
                for p in range(self.n_coef - len(piece) + 1 if len(piece) else 0):
                    span = slice(p, p + len(piece))
                    ok[p, i] = bool(((piece >= f["q_lo"][span]) & (piece <= f["q_hi"][span])).all())
            self.piece_ok, self.piece_len = ok, length

    def mask(self) -> np.ndarray:
        t = self.tokenizer
        B = len(self.filled)
        allowed = np.zeros((B, t.vocab_size), dtype=bool)
        for b in range(B):
            if self.done[b]:
                allowed[b, t.eos_id] = True
                continue
            open_chunk = self.in_content[b] or self.last_mark[b] >= 0
            if not self.in_content[b]:
                allowed[b, max(t.mark_base, self.last_mark[b] + 1) : t.end_base] = True
            if t.scheme == "dct":
                allowed[b, : t.n_content] = self.piece_ok[self.filled[b]]
                can_end = True
            else:
                allowed[b, : t.n_content] = self.filled[b] < self.n_coef
                can_end = self.filled[b] == self.n_coef
            if can_end:
                first_real = 1
                if self.last_mark[b] >= 0:
                    first_real = (self.last_mark[b] - t.mark_base) % t.chunk + 1
                allowed[b, t.end_base + first_real - 1 : t.eos_id] = True
            allowed[b, t.eos_id] = not open_chunk
        return allowed

    def advance(self, ids: np.ndarray) -> None:
        t = self.tokenizer
        for b, i in enumerate(np.asarray(ids).reshape(-1).tolist()):
            if i == t.eos_id:
                self.done[b] = True
            elif i >= t.end_base:
                self.filled[b], self.last_mark[b], self.in_content[b] = 0, -1, False
            elif i >= t.mark_base:
                self.last_mark[b] = i
            else:
                self.in_content[b] = True
                self.filled[b] += self.piece_len[i] if t.scheme == "dct" else 1


def _changes(events: np.ndarray) -> np.ndarray:
    """(T, E) bool -> (T, E) bool: where each event differs from the step before (before the first: off)."""
    return events ^ np.concatenate([np.zeros((1, events.shape[1]), dtype=bool), events[:-1]])


def _spline_matrices(chunk: int, n_control: int) -> dict:
    """The clamped cubic B-spline with `n_control` control points sampled at the chunk's steps: `basis`
    (H, K) maps control points to deltas, `fit_matrix` (K, H) its least-squares inverse."""
    from scipy.interpolate import BSpline

    k = SPLINE_DEGREE
    inner = np.linspace(0.0, 1.0, n_control - k + 1)
    knots = np.concatenate([[0.0] * k, inner, [1.0] * k])
    t = np.linspace(0.0, 1.0, chunk)
    basis = BSpline.design_matrix(t, knots, k).toarray()
    return {"basis": basis, "fit_matrix": np.linalg.pinv(basis)}
