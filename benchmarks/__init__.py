"""graphc against its peers, side by side: `python -m benchmarks [--quick] [--out FILE]`.

Workloads (float32, fixed seeds): W1 MLP training step, W2 CNN training step, W3 fused
elementwise expression, W4 first-call latency; plus W1's peak memory per system. Peers (PyTorch,
JAX, PyTensor, numexpr, numba) are optional: a system that is not installed is skipped with the
reason in the table. See benchmarks/README.md.
"""
