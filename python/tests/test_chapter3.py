"""examples/python/chapter3.py prints the numbers the textbook's chapter 3 prints."""

import os
import re
import subprocess
import sys

import numpy as np

EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "examples",
                       "python", "chapter3.py")

# As printed in the chapter (4 decimals; the first two are the seed's cells 2 and 4). All of
# them were checked once against the chapter's own code run with PyTorch 2.15 (same seeds):
# equal to the 4th decimal.
MHA_ROWS = [[0.3190, 0.4858], [0.2943, 0.3897], [0.2856, 0.3593], [0.2693, 0.3873],
            [0.2639, 0.3928], [0.2575, 0.4028]]
CAUSAL_ROWS = [[-0.4519, 0.2216], [-0.5874, 0.0058], [-0.6300, -0.0632], [-0.5675, -0.0843],
               [-0.5526, -0.0981], [-0.5299, -0.1081]]
WRAPPER_ROWS = [[-0.4519, 0.2216, 0.4772, 0.1063], [-0.5874, 0.0058, 0.5891, 0.3257],
                [-0.6300, -0.0632, 0.6202, 0.3860], [-0.5675, -0.0843, 0.5478, 0.3589],
                [-0.5526, -0.0981, 0.5321, 0.3428], [-0.5299, -0.1081, 0.5077, 0.3493]]
CHAPTER = {
    "3.3.1 attention scores of 'journey' (x^2)": [0.9544, 1.4950, 1.4754, 0.8434, 0.7070, 1.0865],
    "3.3.1 attention weights (scores / sum)": [0.1455, 0.2278, 0.2249, 0.1285, 0.1077, 0.1656],
    "3.3.1 sum of the weights": [1.0000],
    "3.3.1 attention weights (softmax)": [0.1385, 0.2379, 0.2333, 0.1240, 0.1082, 0.1581],
    "3.3.1 context vector z^2": [0.4419, 0.6515, 0.5683],
    "3.3.2 attention scores": [
        [0.9995, 0.9544, 0.9422, 0.4753, 0.4576, 0.6310],
        [0.9544, 1.4950, 1.4754, 0.8434, 0.7070, 1.0865],
        [0.9422, 1.4754, 1.4570, 0.8296, 0.7154, 1.0605],
        [0.4753, 0.8434, 0.8296, 0.4937, 0.3474, 0.6565],
        [0.4576, 0.7070, 0.7154, 0.3474, 0.6654, 0.2935],
        [0.6310, 1.0865, 1.0605, 0.6565, 0.2935, 0.9450]],
    "3.3.2 attention weights": [
        [0.2098, 0.2006, 0.1981, 0.1242, 0.1220, 0.1452],
        [0.1385, 0.2379, 0.2333, 0.1240, 0.1082, 0.1581],
        [0.1390, 0.2369, 0.2326, 0.1242, 0.1108, 0.1565],
        [0.1435, 0.2074, 0.2046, 0.1462, 0.1263, 0.1720],
        [0.1526, 0.1958, 0.1975, 0.1367, 0.1879, 0.1295],
        [0.1385, 0.2184, 0.2128, 0.1420, 0.0988, 0.1896]],
    "3.3.2 context vectors": [
        [0.4421, 0.5931, 0.5790], [0.4419, 0.6515, 0.5683], [0.4431, 0.6496, 0.5671],
        [0.4304, 0.6298, 0.5510], [0.4671, 0.5910, 0.5266], [0.4177, 0.6503, 0.5645]],
    "3.4.1 query_2": [0.4306, 1.4551],
    "3.4.1 attention scores of query_2": [1.2705, 1.8524, 1.8111, 1.0795, 0.5577, 1.5440],
    "3.4.1 attention weights (scaled softmax)": [0.1500, 0.2264, 0.2199, 0.1311, 0.0906, 0.1820],
    "3.4.1 context vector of query_2": [0.3061, 0.8210],
    "3.4.2 SelfAttention_v1": [[0.2996, 0.8053], [0.3061, 0.8210], [0.3058, 0.8203],
                               [0.2948, 0.7939], [0.2927, 0.7891], [0.2990, 0.8040]],
    "3.4.2 SelfAttention_v2": [[-0.0739, 0.0713], [-0.0748, 0.0703], [-0.0749, 0.0702],
                               [-0.0760, 0.0685], [-0.0763, 0.0679], [-0.0754, 0.0693]],
    "3.5.1 causal attention weights": [
        [1.0000, 0.0000, 0.0000, 0.0000, 0.0000, 0.0000],
        [0.5517, 0.4483, 0.0000, 0.0000, 0.0000, 0.0000],
        [0.3800, 0.3097, 0.3103, 0.0000, 0.0000, 0.0000],
        [0.2758, 0.2460, 0.2462, 0.2319, 0.0000, 0.0000],
        [0.2175, 0.1983, 0.1984, 0.1888, 0.1971, 0.0000],
        [0.1935, 0.1663, 0.1666, 0.1542, 0.1666, 0.1529]],
    "3.5.3 CausalAttention context vectors": CAUSAL_ROWS * 2,
    "3.6.1 MultiHeadAttentionWrapper": WRAPPER_ROWS * 2,
    "3.6.2 MultiHeadAttention": MHA_ROWS * 2,
}


def parse(text):
    """{label: the numbers printed under it}."""
    sections, label = {}, None
    for line in text.splitlines():
        if line.endswith(":") and not line.startswith(" "):
            label = line[:-1]
            sections[label] = []
        elif label is not None and line.strip():
            sections[label] += [float(v) for v in re.findall(r"-?\d+\.\d+", line)]
    return sections


def test_chapter3_prints_the_chapters_numbers():
    run = subprocess.run([sys.executable, EXAMPLE], capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    printed = parse(run.stdout)
    assert set(printed) == set(CHAPTER)
    for label, want in CHAPTER.items():
        want = np.ravel(want)
        got = np.array(printed[label])
        assert got.shape == want.shape, label
        # Both are rounded to 4 decimals: equal, or one unit apart where float32 rounding
        # differs from PyTorch's at the 5th decimal.
        assert np.all(np.abs(got - want) <= 1.0001e-4), (label, got, want)
