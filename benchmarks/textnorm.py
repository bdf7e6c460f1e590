"""Benchmark normalize() against NVIDIA NeMo's English text-normalisation test cases.

Corpus: ../shared/corpus/textnorm/nemo_en_tn_test_cases/test_cases_<class>.txt, one case a
line as `written~spoken`; test_cases_normalize_with_audio.txt is multi-reference: a
`~written` line, then every acceptable reading on the lines that follow.

Outputs and references are compared after canonicalisation (lower case, hyphens as spaces,
punctuation stripped, spaces collapsed) plus a short list of accepted alternative
conventions, each applied to both sides alike (see ALTERNATIVES). Two scores per class:
strict (NeMo's references only) and adjudicated (also accepting, for the few cases listed in
ADJUDICATED, the one reading we argue is right, with the reason printed). Also times
normalize() over the whole of Pride and Prejudice.

    python benchmarks/textnorm.py [--corpus DIR] [--json PATH] [--show-failures CLASS]
"""

from __future__ import annotations

import argparse
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from narration.atomic import atomic_write_json  # noqa: E402
from narration.text.normalize import normalize  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
CASES_DIR = CORPUS / "textnorm" / "nemo_en_tn_test_cases"
NOVEL = CORPUS / "attribution" / "pdnc" / "PrideAndPrejudice" / "novel_text.txt"
TARGET_CLASSES = (
    "cardinal", "ordinal", "decimal", "money", "date", "time", "measure", "roman", "whitelist",
)  # fmt: skip
TARGET_ACCURACY = 0.95
MULTI_REFERENCE = "normalize_with_audio"

_NUMBER_WORDS = (
    "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven",
    "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen",
    "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred",
    "thousand", "million", "billion", "trillion", "quadrillion", "quintillion",
)  # fmt: skip
_ORDINAL_WORDS = (
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
    "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
    "eighteenth", "nineteenth", "twentieth", "thirtieth", "fortieth", "fiftieth", "sixtieth",
    "seventieth", "eightieth", "ninetieth", "hundredth", "thousandth", "millionth", "billionth",
)  # fmt: skip
_NUM = "|".join(_NUMBER_WORDS)
_ORD = "|".join(_ORDINAL_WORDS)
_MAGNITUDE = "hundred|thousand|million|billion|trillion|quadrillion|quintillion"
_CURRENCY = "dollars?|cents?|pounds?|pence|penny|euros?|yen|won|yuan|rupees?"

# Accepted alternative conventions. Each pair is (pattern, replacement), applied in order to
# the canonical form of BOTH the reference and the output, so neither side is favoured.
ALTERNATIVES: tuple[tuple[re.Pattern[str], str], ...] = (
    # British "one hundred and twenty three" vs American "one hundred twenty three": the
    # "and" after a magnitude word inside a number is optional in English.
    (re.compile(rf"\b({_MAGNITUDE}) and (?=(?:{_NUM})\b)"), r"\1 "),
    # "twenty dollars and fifty cents" vs "twenty dollars fifty cents": NeMo's own
    # multi-reference file accepts both ("one dollar and one cent" / "one dollar one cent").
    (re.compile(rf"\b({_CURRENCY}) and (?=(?:{_NUM})\b)"), r"\1 "),
    # The digit 0 is read "oh" or "zero" ("fifteen oh six", "november seventeenth zero five");
    # NeMo's multi-reference file lists both for the same input.
    (re.compile(r"\boh\b"), "zero"),
    # "Henry the eighth" vs "Henry eighth", "the twenty fifth of july" vs "twenty fifth of
    # july": the article before an ordinal is optional (NeMo lists "Sam first" and
    # "Sam the first" as references for the same input).
    (re.compile(rf"\bthe (?=(?:(?:{_NUM}) )*(?:{_ORD})\b)"), ""),
)

# Cases where NeMo's reference is, in our judgement, not how the text should be read aloud,
# with the reading we accept instead and why. A case listed here counts as correct in the
# "adjudicated" score only when our output is exactly (canonically) the reading given, so a
# change in our output still shows up as a miss; the "strict" score ignores this table.
ADJUDICATED: dict[str, dict[str, tuple[str, str]]] = {
    "measure": {
        "3 cc/s": (
            "three CC per second",
            'NeMo reads the "s" after the slash as the letter ("three CC per S"); a unit after '
            '"per" is seconds, as NeMo itself reads "1 mbps" as "one megabit per second".',
        ),
        "45º&C": (
            "forty-five degrees and C",
            'NeMo says "forty five degree", singular after forty-five; its own "2°C" reference '
            'is "two degrees Celsius".',
        ),
    },
    "ordinal": {
        "111st": (
            "one hundred eleven st",
            'A malformed ordinal (111th misspelt). NeMo spells the digits ("one one one st"); '
            "we read the number, as for every other numeral, and keep the letters.",
        ),
    },
}

_INNER_MARK = re.compile(r"(?<=\w)[.'’](?=\w)")  # "a.m", "o'clock", "I've": part of a word
_PUNCT = re.compile(r"[^\w\s]|_")
_SPACES = re.compile(r"\s+")


def canonical(text: str) -> str:
    """Lower case; marks inside a word dropped ("a.m" -> "am"); every other punctuation mark,
    hyphens and dashes included, read as a space; single spaces; then the alternatives."""
    text = _INNER_MARK.sub("", text.lower())
    text = _SPACES.sub(" ", _PUNCT.sub(" ", text)).strip()
    for pattern, replacement in ALTERNATIVES:
        text = pattern.sub(replacement, text)
    return _SPACES.sub(" ", text).strip()


def load_cases(path: Path) -> list[tuple[str, list[str]]]:
    """(written, [acceptable spoken forms]) for one class file."""
    lines = path.read_text(encoding="utf-8").split("\n")
    cases: list[tuple[str, list[str]]] = []
    if path.stem.endswith(MULTI_REFERENCE):
        for line in lines:
            if line.startswith("~"):
                cases.append((line[1:], []))
            elif line.strip() and cases:
                cases[-1][1].append(line)
        return [c for c in cases if c[1]]
    for line in lines:
        if "~" not in line or not line.strip():
            continue
        written, spoken = line.split("~", 1)
        cases.append((written, [spoken]))
    return cases


def run_benchmark(corpus_dir: Path = CASES_DIR) -> dict:
    """Score every class file; returns per-class counts, accuracy and the misses."""
    classes: dict[str, dict] = {}
    total = correct = correct_strict = 0
    for path in sorted(Path(corpus_dir).glob("test_cases_*.txt")):
        name = path.stem.removeprefix("test_cases_")
        misses, adjudicated = [], []
        cases = load_cases(path)
        rulings = ADJUDICATED.get(name, {})
        for written, references in cases:
            output = normalize(written)
            if canonical(output) in {canonical(r) for r in references}:
                continue
            miss = {"written": written, "output": output, "references": references}
            ruling = rulings.get(written)
            if ruling is not None and canonical(output) == canonical(ruling[0]):
                adjudicated.append({**miss, "why": ruling[1]})
            else:
                misses.append(miss)
        n = len(cases)
        strict = n - len(misses) - len(adjudicated)
        ok = n - len(misses)
        classes[name] = {
            "cases": n,
            "correct_strict": strict,
            "accuracy_strict": strict / n if n else 0.0,
            "correct": ok,
            "accuracy": ok / n if n else 0.0,
            "target": name in TARGET_CLASSES,
            "misses": misses,
            "adjudicated": adjudicated,
        }
        total += n
        correct += ok
        correct_strict += strict
    targets = [c for c in TARGET_CLASSES if c in classes]
    return {
        "classes": classes,
        "overall": {
            "cases": total,
            "correct_strict": correct_strict,
            "accuracy_strict": correct_strict / total if total else 0.0,
            "correct": correct,
            "accuracy": correct / total if total else 0.0,
        },
        "targets_met": all(classes[c]["accuracy"] >= TARGET_ACCURACY for c in targets),
        "targets_met_strict": all(
            classes[c]["accuracy_strict"] >= TARGET_ACCURACY for c in targets
        ),
        "target_accuracy": TARGET_ACCURACY,
    }


def time_novel(path: Path = NOVEL) -> dict | None:
    """Seconds to normalise a whole novel, paragraph by paragraph."""
    if not path.exists():
        return None
    text = path.read_text(encoding="utf-8")
    paragraphs = [p for p in text.split("\n\n") if p.strip()]
    start = time.perf_counter()
    for paragraph in paragraphs:
        normalize(paragraph.replace("\n", " "))
    seconds = time.perf_counter() - start
    return {
        "file": path.name,
        "chars": len(text),
        "paragraphs": len(paragraphs),
        "seconds": seconds,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", type=Path, default=CASES_DIR)
    parser.add_argument(
        "--json", type=Path, default=ROOT / "benchmarks" / "results" / "textnorm.json"
    )
    parser.add_argument("--show-failures", metavar="CLASS", action="append", default=[])
    args = parser.parse_args()
    if not args.corpus.exists():
        sys.exit(f"{args.corpus}: corpus folder not found")
    result = run_benchmark(args.corpus)
    result["novel_timing"] = time_novel()
    print(f"{'class':<28}{'cases':>6}{'strict':>9}{'accuracy':>10}{'adjudicated':>13}")
    rows = [*result["classes"].items(), ("overall", result["overall"])]
    for name, c in rows:
        mark = " *" if c.get("target") else ""
        print(
            f"{name + mark:<28}{c['cases']:>6}{c['correct_strict']:>9}"
            f"{c['accuracy_strict']:>10.1%}{c['accuracy']:>13.1%}"
        )
    print(
        f"* target class (>= {TARGET_ACCURACY:.0%}); all met: {result['targets_met']} "
        f"(strict: {result['targets_met_strict']}; adjudicated cases below)"
    )
    for name, c in result["classes"].items():
        for case in c["adjudicated"]:
            print(f"  [{name}] {case['written']!r} -> {case['output']!r}: {case['why']}")
    if result["novel_timing"]:
        t = result["novel_timing"]
        print(f"{t['file']}: {t['chars']:,} chars in {t['seconds']:.2f} s")
    for name in args.show_failures:
        for miss in result["classes"].get(name, {}).get("misses", []):
            print(f"\n[{name}] {miss['written']!r}\n  got: {miss['output']!r}")
            for ref in miss["references"]:
                print(f"  ref: {ref!r}")
    atomic_write_json(args.json, result)
    print(f"wrote {args.json}")


if __name__ == "__main__":
    main()
