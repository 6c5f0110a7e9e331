"""Tools for developers: benchmarks, synthetic warehouses and the demo photos."""
