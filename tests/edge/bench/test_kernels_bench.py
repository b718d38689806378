"""`edge bench kernels` times every kernel in both implementations and prints the speed-up."""

from __future__ import annotations

from edge.bench.kernels import format_table, run_kernel_bench


def test_kernel_bench_reports_both_implementations_on_tiny_sizes() -> None:
    results = run_kernel_bench(rows=50, cells=10, repeats=2, large_rows=200, large_cells=40)
    assert [(r["kernel"], r["rows"], r["cells"]) for r in results] == [
        ("window_features", 50, 10),
        ("window_features", 200, 40),
    ]
    for result in results:
        assert result["reference_rows_per_s"] > 0 and result["native_rows_per_s"] > 0
        assert result["speedup"] > 0 and result["outputs_match"] is True
    table = format_table(results)
    assert "reference rows/s" in table and "native rows/s" in table and "speed-up" in table
    assert "50-row batch, 10 cells" in table and "200-row run, 40 cells" in table
