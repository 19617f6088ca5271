# Shadows any installed torch (PYTHONPATH comes first) so that bench_torch_missing sees the
# message tools/torch_peer.py gives where PyTorch is not installed.
raise ImportError("No module named 'torch' (shadowed by clattn's tests)")
