"""Fit the weights of narration/cast/rerank.py on the PDNC novels, and say how well they carry.

For every quotation the first pass did not settle by a name tag, rerank.candidates() lists
the characters the clues point at, with their features; the gold speaker (PDNC) says which
candidate is right. A log-linear (softmax) model is fitted by L-BFGS with a small L2 penalty,
every novel weighted equally (so a long novel does not outvote a short one).

Leave-one-novel-out: for each novel, fit on the other thirteen and count how often the
model's choice is right on the held-out novel, against the first pass's choice on the same
quotations. That is the estimate for novels nobody has tuned on. Then the fit on all
novels is printed as the WEIGHTS tuple to paste into rerank.py.

Usage: python benchmarks/attribution_train.py [--corpus DIR]... [--l2 0.01]
"""

from __future__ import annotations

import argparse
import bisect
import importlib.util
import sys
from pathlib import Path

import numpy as np
from scipy.optimize import minimize

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from narration.cast.attribute import attributed_turns  # noqa: E402
from narration.cast.rerank import FEATURES, rerank  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench", ROOT / "benchmarks" / "attribution.py")
assert _spec and _spec.loader
bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(bench)

_MIN_SUPPORT = 200
SURE_TARGET = 0.96  # held-out accuracy above the probability that maps to confidence 0.9
Sample = tuple[np.ndarray, np.ndarray, bool]  # features (candidates x F), right mask, chosen ok


def novel_samples(folder: Path, weights: tuple[float, ...] | None) -> list[Sample]:
    """One sample per quotation the first pass did not settle by a name tag, with the
    features rerank() sees when it runs with `weights` (None: the first pass's view)."""
    text, gold, names = bench.load_gold(folder)
    ctx, turns = attributed_turns(text, reranked=False)
    seen: dict[int, dict[int, list[float]]] = {}
    first = [t.speaker for t in turns]
    rerank(ctx, turns, weights, lambda i, feats: seen.__setitem__(i, feats), passes=1)
    spans = sorted((s, e, k) for k, g in enumerate(gold) for s, e in g["spans"])
    starts = [s for s, _, _ in spans]
    samples: list[Sample] = []
    for i, feats in seen.items():
        q = turns[i].quotation
        assert q is not None
        best, overlap = None, 0
        for s, e, k in spans[max(0, bisect.bisect_left(starts, q.start) - 40) :]:
            if s >= q.end:
                break
            ov = min(e, q.end) - max(s, q.start)
            if ov > overlap:
                best, overlap = k, ov
        if best is None:
            continue
        speaker = gold[best]["speaker"]
        gold_names = names.get(speaker) or {bench.normalise(speaker)}
        if not feats:
            continue
        chars = sorted(feats)
        right = np.array(
            [
                bool({bench.normalise(n) for n in ctx.index.characters[c].all_names} & gold_names)
                for c in chars
            ]
        )
        chosen_ok = first[i] in feats and bool(right[chars.index(first[i])])
        samples.append((np.array([feats[c] for c in chars]), right, chosen_ok))
    return samples


def _loss(
    w: np.ndarray, data: list[tuple[list[Sample], float]], l2: float
) -> tuple[float, np.ndarray]:
    """Weighted negative log-likelihood of the right candidates (all right ones together)."""
    total, grad = 0.0, np.zeros_like(w)
    for samples, weight in data:
        for x, right, _ in samples:
            if not right.any():
                continue
            s = x @ w
            s = s - s.max()
            p = np.exp(s) / np.exp(s).sum()
            p_right = p[right].sum()
            total -= weight * np.log(max(p_right, 1e-12))
            # d(-log sum_right p)/dw = E_p[x] - E_{p | right}[x]
            grad += weight * (p @ x - (p[right] / p_right) @ x[right])
    return total + l2 * float(w @ w), grad + 2 * l2 * w


def fit(novels: list[list[Sample]], l2: float) -> np.ndarray:
    data = [(samples, 1.0 / max(1, len(samples))) for samples in novels]
    w0 = np.zeros(len(FEATURES))
    result = minimize(_loss, w0, args=(data, l2), jac=True, method="L-BFGS-B")
    return result.x


def held_out_probabilities(w: np.ndarray, samples: list[Sample]) -> list[tuple[float, bool]]:
    """(probability of the model's choice, whether it is right) for each sample."""
    found = []
    for x, right, _ in samples:
        s = x @ w
        p = np.exp(s - s.max())
        p /= p.sum()
        k = int(np.argmax(p))
        found.append((float(p[k]), bool(right[k])))
    return found


def sure_threshold(pairs: list[tuple[float, bool]], target: float) -> float:
    """The least probability above which held-out choices are right `target` of the time."""
    for t in np.arange(0.5, 1.0, 0.01):
        kept = [ok for p, ok in pairs if p >= t]
        # at least 200 choices, so that a handful of lucky ones does not set the scale
        if len(kept) >= _MIN_SUPPORT and sum(kept) / len(kept) >= target:
            return float(round(t, 2))
    return 1.01  # never: no choice of the model is that sure


def accuracy(w: np.ndarray, samples: list[Sample]) -> tuple[float, float]:
    """(model's choice right, first pass's choice right) over the samples."""
    model = sum(bool(right[int(np.argmax(x @ w))]) for x, right, _ in samples)
    first = sum(ok for _, _, ok in samples)
    n = max(1, len(samples))
    return model / n, first / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, action="append")
    parser.add_argument("--l2", type=float, default=0.01)
    args = parser.parse_args(argv)
    folders = bench.folders_of(args.corpus or bench.DEFAULT_CORPORA)
    # Round one sees the first pass's neighbours; round two the neighbours as rerank() leaves
    # them when it runs with round one's weights, which is what it sees in use.
    data = {f.name: novel_samples(f, None) for f in folders}
    w1 = tuple(float(x) for x in fit(list(data.values()), args.l2))
    data = {f.name: novel_samples(f, w1) for f in folders}
    print(f"{'held-out novel':30s} {'quotes':>6s} {'first':>6s} {'model':>6s}")
    gains = []
    pairs: list[tuple[float, bool]] = []
    for name, samples in data.items():
        w = fit([s for n, s in data.items() if n != name], args.l2)
        model, first = accuracy(w, samples)
        gains.append(model - first)
        pairs += held_out_probabilities(w, samples)
        print(f"{name[:30]:30s} {len(samples):6d} {100 * first:6.1f} {100 * model:6.1f}")
    print(f"mean gain on held-out novels: {100 * sum(gains) / len(gains):+.2f} points")
    for t in (0.5, 0.6, 0.7, 0.8, 0.9, 0.95):
        kept = [ok for p, ok in pairs if p >= t]
        right = 100 * sum(kept) / max(1, len(kept))
        print(f"held out, probability >= {t}: {len(kept)} choices, right {right:.1f}%")
    sure = sure_threshold(pairs, SURE_TARGET)
    print(f"SURE = {sure}  # held-out choices right {SURE_TARGET:.0%} from this probability")
    w = fit(list(data.values()), args.l2)
    print("WEIGHTS = (")
    for name, value in zip(FEATURES, w, strict=True):
        print(f"    {value:.3f},  # {name}")
    print(")")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
