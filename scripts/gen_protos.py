"""Regenerate the checked-in protocol code in inference_protocol/generated/ from protos/*.proto.

Usage: python scripts/gen_protos.py [--out DIR]   (DIR defaults to the repository root)
The test suite runs this into a scratch folder and fails on any difference.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PROTO_DIR = ROOT / "protos"
# Generated modules import each other as `inference_protocol.generated.<name>_pb2`.
PACKAGE_PATH = "inference_protocol/generated"


def generate(out_root: Path) -> list[Path]:
    """Run protoc for every .proto file; return the generated files."""
    from grpc_tools import protoc

    protos = sorted(PROTO_DIR.glob("*.proto"))
    target = out_root / PACKAGE_PATH
    target.mkdir(parents=True, exist_ok=True)
    for proto in protos:
        args = [
            "protoc",
            f"-I{PACKAGE_PATH}={PROTO_DIR}",
            f"--python_out={out_root}",
            f"--pyi_out={out_root}",
            f"--grpc_python_out={out_root}",
            f"{PACKAGE_PATH}/{proto.name}",
        ]
        if protoc.main(args) != 0:
            raise SystemExit(f"protoc failed for {proto.name}")
        _own_pool(target / f"{proto.stem}_pb2.py")
    return sorted(p for p in target.iterdir() if p.name.endswith((".py", ".pyi")) and "_pb2" in p.name)


_DEFAULT_POOL = "DESCRIPTOR = _descriptor_pool.Default().AddSerializedFile("
_OWN_POOL = """# A descriptor pool of its own (not protobuf's default one): tritonclient registers the same
# KServe v2 protocol (package `inference`) in the default pool, and both load in one process.
_POOL = _descriptor_pool.DescriptorPool()
DESCRIPTOR = _POOL.AddSerializedFile("""


def _own_pool(module: Path) -> None:
    """Register the module's messages in a pool of their own; the wire format is unchanged."""
    text = module.read_text(encoding="utf-8")
    if text.count(_DEFAULT_POOL) != 1:
        raise SystemExit(f"{module}: protoc's output changed shape; cannot give it a pool of its own")
    module.write_text(text.replace(_DEFAULT_POOL, _OWN_POOL), encoding="utf-8")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT)
    args = parser.parse_args()
    for path in generate(args.out):
        print(path.relative_to(args.out))


if __name__ == "__main__":
    sys.exit(main())
