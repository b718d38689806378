"""`edge bench kernels` times every kernel in both implementations and prints the speed-up."""

from __future__ import annotations

from edgectl.bench.kernels import format_table, run_kernel_bench


def test_kernel_bench_reports_both_implementations_on_tiny_sizes() -> None:
    results = run_kernel_bench(
        rows=50,
        cells=10,
        repeats=2,
        large_rows=200,
        large_cells=40,
        das_samples=300,
        das_channels=16,
        das_windows=3,
    )
    assert [(r["kernel"], r["case"], r["unit"], r["items"]) for r in results] == [
        ("window_features", "50-row batch, 10 cells", "rows", 50),
        ("window_features", "200-row run, 40 cells", "rows", 200),
        ("das_channel_stats", "one 300x16 window", "windows", 1),
        ("das_channel_stats", "3 300x16 windows", "windows", 3),
        ("das_features (end to end)", "3 300x16 windows", "windows", 3),
    ]
    for result in results:
        assert result["reference_per_s"] > 0 and result["native_per_s"] > 0
        assert result["speedup"] > 0 and result["outputs_match"] is True
    assert [r["has_target"] for r in results] == [True, True, True, True, False]
    table = format_table(results)
    assert "reference" in table and "native" in table and "speed-up" in table
    assert "50-row batch, 10 cells" in table and "rows/s" in table
    assert "das_features (end to end)" in table and "ms each" in table
