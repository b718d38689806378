"""Write the `edge bench accel` reference model (KPI autoencoder, MLP 32-128-16-128-32, fixed
random weights) into a model repository, so that another server (Triton, KServe, MLServer) can be
measured on the very model our server is: `python scripts/make_bench_model.py DIR`, serve DIR,
then `edge bench accel --url HOST:PORT --model kpi-autoencoder`."""

from __future__ import annotations

import argparse
from pathlib import Path

from edgectl.bench.accel import REFERENCE_MODEL, write_reference_model


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("repository", type=Path, help="model repository directory (created if missing)")
    parser.add_argument("--name", default=REFERENCE_MODEL, help=f"model name (default {REFERENCE_MODEL})")
    args = parser.parse_args()
    print(write_reference_model(args.repository, args.name))


if __name__ == "__main__":
    main()
