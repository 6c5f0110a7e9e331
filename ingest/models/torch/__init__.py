"""The default profile's networks in PyTorch, on whole batches, on CUDA or the CPU."""
