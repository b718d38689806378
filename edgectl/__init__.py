"""The top of the house: the `edge` command, the embedded dev stack (broker and accelerator
launchers, `edge demo`), the benchmarks and the synthetic telco traffic. It imports everything
below it; nothing imports it."""
