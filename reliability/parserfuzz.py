"""Parser fuzzing: random bytes, token soup and mutations of valid IR.

Every input either parses (then it must verify or raise VerifyError, and print back to text
that parses to the same print) or raises ParseError/VerifyError: any other exception, or an
input that runs past the time limit, is a failure. Bytes go through gc.load_ir (a file), text
through gc.parse.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable

import numpy as np

import graphc as gc
from reliability.figures import Figures
from reliability.randgraph import random_graph
from reliability.runparsed import run_parsed, small_enough
from reliability.timelimit import Hang, time_limit

LIMIT_S = 5.0
ALLOWED = (gc.ParseError, gc.VerifyError)
TOKENS = [
    "graph", "@g", "@", "%0", "%1", "%x", "%", "(", ")", "[", "]", "{", "}", "<", ">", ",", ":",
    "=", "*", "^", "-", "->", "f32", "f64", "i32", "i64", "bool", "B", "T", "2*B", "0", "1", "3",
    "-1", "10000000000000000000000", "1e400", "nan", "inf", "-inf", "1.5", "0x10", "add", "mul",
    "matmul", "reshape", "fused", "fused_reduce", "constant", "softmax", "conv2d", "sum",
    "return", "update", "params", "yield", "loc", "\"f.py\"", "\"", "dense", "dense<f32: 1.0>",
    "dense<f32[2]: [1.0, 2.0]>", "{value = dense<f32: 0.5>}", "{axis = [0]}", "true", "none",
    "//", "\n", " ", "\t", "\\", "\x00", "é", "shape", "perm", "axis", "[1, 2]", "%a0: f32",
]


def _seeds(rng: np.random.Generator, n: int) -> list[str]:
    """Valid IR texts: random graphs as built, and after the default pipeline (fused bodies)."""
    texts = []
    for s in rng.integers(0, 2**31, n):
        case = random_graph(int(s), "float32" if s % 2 else "float64", max_steps=5)
        fn = gc.function(case.inputs, case.outputs, backend="numpy")
        texts += [fn.ir("input"), fn.ir()]
    return texts


def _random_bytes(rng: np.random.Generator, seeds: list[str]) -> bytes:
    if rng.random() < 0.5:
        return rng.integers(0, 256, int(rng.integers(0, 300)), dtype=np.uint8).tobytes()
    data = bytearray(seeds[int(rng.integers(len(seeds)))].encode())
    for _ in range(int(rng.integers(1, 6))):
        data[int(rng.integers(len(data)))] = int(rng.integers(128, 256))
    return bytes(data)


def _token_soup(rng: np.random.Generator, seeds: list[str]) -> str:
    n = int(rng.integers(0, 80))
    return " ".join(TOKENS[int(i)] for i in rng.integers(0, len(TOKENS), n))


def _mutate(rng: np.random.Generator, seeds: list[str]) -> str:
    text = seeds[int(rng.integers(len(seeds)))]
    for _ in range(int(rng.integers(1, 3))):
        text = MUTATIONS[int(rng.integers(len(MUTATIONS)))](rng, text)
    return text


def _span(rng: np.random.Generator, text: str) -> tuple[int, int]:
    i = int(rng.integers(0, len(text) + 1))
    return i, min(len(text), i + int(rng.integers(0, 40)))


def _delete(rng: np.random.Generator, text: str) -> str:
    i, j = _span(rng, text)
    return text[:i] + text[j:]


def _duplicate(rng: np.random.Generator, text: str) -> str:
    i, j = _span(rng, text)
    return text[:j] + text[i:j] + text[j:]


def _insert_token(rng: np.random.Generator, text: str) -> str:
    i = int(rng.integers(0, len(text) + 1))
    return text[:i] + TOKENS[int(rng.integers(len(TOKENS)))] + text[i:]


def _swap_lines(rng: np.random.Generator, text: str) -> str:
    lines = text.split("\n")
    i, j = rng.integers(0, len(lines), 2)
    lines[i], lines[j] = lines[j], lines[i]
    return "\n".join(lines)


def _replace_word(rng: np.random.Generator, text: str) -> str:
    words = text.split(" ")
    words[int(rng.integers(len(words)))] = TOKENS[int(rng.integers(len(TOKENS)))]
    return " ".join(words)


def _change_number(rng: np.random.Generator, text: str) -> str:
    digits = [i for i, ch in enumerate(text) if ch.isdigit()]
    if not digits:
        return text
    i = digits[int(rng.integers(len(digits)))]
    new = ["0", "1", "7", "-1", "99999999999999999999", "4294967296", "2147483648"]
    return text[:i] + new[int(rng.integers(len(new)))] + text[i + 1:]


MUTATIONS: list[Callable[[np.random.Generator, str], str]] = [
    _delete, _duplicate, _insert_token, _swap_lines, _replace_word, _change_number,
    lambda rng, t: t[: int(rng.integers(0, len(t) + 1))],  # truncate
]
KINDS: dict[str, Callable[[np.random.Generator, list[str]], str | bytes]] = {
    "bytes": _random_bytes, "tokens": _token_soup, "mutations": _mutate,
}


def check_input(data: str | bytes, path: str, run: bool = False) -> str | None:
    """None when the parser behaved; otherwise what went wrong. With ``run``, a graph that
    verifies also runs on numpy (run_parsed), where any GraphcError is a fine answer."""
    try:
        with time_limit(LIMIT_S):
            graph, problem = _parse_verify_roundtrip(data, path)
    except ALLOWED:
        return None
    except Hang:
        return f"no answer within {LIMIT_S} s"
    except Exception as e:  # noqa: BLE001  (any other exception is a finding)
        return f"{type(e).__name__}: {e}"
    if problem or not run or not small_enough(graph):
        return problem
    try:
        with time_limit(LIMIT_S):
            run_parsed(graph, np.random.default_rng(0))
        return None
    except gc.GraphcError:
        return None
    except Hang:
        return f"no answer within {LIMIT_S} s"
    except Exception as e:  # noqa: BLE001  (any other exception is a finding)
        return f"running it: {type(e).__name__}: {e}"


def _parse_verify_roundtrip(data: str | bytes, path: str) -> tuple[gc.Graph, str | None]:
    if isinstance(data, bytes):
        with open(path, "wb") as f:
            f.write(data)
        graph = gc.load_ir(path)
    else:
        graph = gc.parse(data)
    gc.verify(graph)
    text = gc.print_ir(graph)
    again = gc.print_ir(gc.parse(text))
    return graph, None if again == text else "parse(print(g)) prints differently"


def run(seed: int, count: int | None = None) -> Figures:
    """``count`` inputs (default 10,000), a third of each kind."""
    count = 10_000 if count is None else count
    figs = Figures("parser", "fuzzed IR inputs: only ParseError/VerifyError, no hang "
                   f"(limit {LIMIT_S:g} s each); verified ones round-trip and run on numpy "
                   "(no pass, default pipeline) or raise a GraphcError", seed=seed)
    start = time.perf_counter()
    rng = np.random.default_rng(seed)
    seeds = _seeds(rng, max(2, min(30, count // 100)))
    kinds = list(KINDS)
    tally: dict[str, object] = dict.fromkeys(kinds, 0)
    parsed = 0
    with tempfile.TemporaryDirectory(prefix="graphc-parserfuzz-") as tmp:
        path = os.path.join(tmp, "input.gir")
        for i in range(count):
            kind = kinds[i % len(kinds)]
            data = KINDS[kind](rng, seeds)
            tally[kind] = int(tally[kind]) + 1  # type: ignore[call-overload]
            problem = check_input(data, path, run=True)
            if problem is not None:
                figs.fail(f"{kind} input {i}: {problem}: {data[:200]!r}")
                what = f"failed: {problem.split(':')[0]}"
                tally[what] = tally.get(what, 0) + 1
            elif _parses(data, path):
                parsed += 1
    figs.cases = count
    figs.details = {**tally, "accepted": parsed}
    figs.seconds = time.perf_counter() - start
    return figs


def _parses(data: str | bytes, path: str) -> bool:
    try:
        with time_limit(LIMIT_S):
            if isinstance(data, bytes):
                gc.load_ir(path)  # the file still holds data
            else:
                gc.parse(data)
        return True
    except (Hang, Exception):  # noqa: BLE001
        return False
