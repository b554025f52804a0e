"""What a local checkpoint's weight files hold, read from their headers alone.

A safetensors file starts with an 8-byte little-endian header length and a JSON header that
names every tensor's dtype, shape and byte range; reading it costs a few kilobytes whatever
the checkpoint's size. From the headers we learn, before any weight is loaded:

- whether a file is damaged (a header that does not parse, a tensor past the end of the
  file) or missing (named by ``model.safetensors.index.json`` and not there): ``problems``;
- how many parameters the model has and in which dtype it was saved: ``summary``, from
  which the memory a load needs is estimated (``bytes_at``).

Only the standard library is used.
"""

from __future__ import annotations

import json
import struct
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

#: Bytes per element of the safetensors dtypes.
DTYPE_BYTES = {
    "F64": 8, "I64": 8, "U64": 8, "F32": 4, "I32": 4, "U32": 4, "F16": 2, "BF16": 2,
    "I16": 2, "U16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1, "U8": 1, "BOOL": 1,
}  # fmt: skip
#: safetensors dtype -> torch dtype name.
TORCH_NAMES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}
#: torch dtype name -> bytes per parameter.
TORCH_BYTES = {"float32": 4, "float16": 2, "bfloat16": 2}
INDEX_NAME = "model.safetensors.index.json"
# A header longer than this is not a real one (the format caps it at 100 MB).
MAX_HEADER = 100_000_000


class WeightFileError(ValueError):
    """A weight file that cannot be what it claims; the message names the file."""


@dataclass(frozen=True)
class WeightSummary:
    """The parameters of a checkpoint's safetensors files."""

    n_params: int
    n_bytes: int  # as saved
    dtype: str | None  # the torch name of the dtype most parameters are saved in

    def bytes_at(self, dtype: str) -> int:
        """The bytes of the weights once loaded in ``dtype`` (a torch dtype name)."""
        return self.n_params * TORCH_BYTES.get(dtype, 4)


def read_header(path: Path) -> dict[str, dict[str, object]]:
    """The tensors of one safetensors file (``__metadata__`` left out), checked against the
    file's size; raises ``WeightFileError`` naming the file and what is wrong."""
    size = path.stat().st_size
    with open(path, "rb") as handle:
        head = handle.read(8)
        if len(head) < 8:
            raise WeightFileError(f"{path}: {size} bytes, too short for a safetensors file")
        (length,) = struct.unpack("<Q", head)
        if length > min(MAX_HEADER, size - 8):
            raise WeightFileError(
                f"{path}: not a safetensors file, or truncated (its header claims {length} "
                f"bytes, the file has {size})"
            )
        raw = handle.read(length)
    try:
        header = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise WeightFileError(f"{path}: the safetensors header is not valid JSON ({exc})") from None
    if not isinstance(header, dict):
        raise WeightFileError(f"{path}: the safetensors header is not a table of tensors")
    data_size = size - 8 - length
    tensors = {k: v for k, v in header.items() if k != "__metadata__" and isinstance(v, dict)}
    for name, tensor in tensors.items():
        offsets = tensor.get("data_offsets")
        if not isinstance(offsets, list) or len(offsets) != 2:
            raise WeightFileError(f"{path}: tensor {name!r} has no data offsets")
        end = int(offsets[1])
        if end > data_size:
            raise WeightFileError(
                f"{path}: truncated: tensor {name!r} ends at byte {end} of the data, which "
                f"has {data_size} bytes"
            )
    return tensors


def weight_files(directory: Path) -> list[Path]:
    """The checkpoint's safetensors files, in name order."""
    return sorted(p for p in directory.glob("*.safetensors") if p.is_file())


def problems(directory: Path) -> list[str]:
    """What is wrong with the safetensors files of a local checkpoint: shards its index
    names that are missing, files that are truncated or not safetensors at all."""
    found: list[str] = []
    index = directory / INDEX_NAME
    if index.is_file():
        try:
            weight_map = json.loads(index.read_text(encoding="utf-8")).get("weight_map", {})
        except (OSError, ValueError, AttributeError) as exc:
            found.append(f"{index}: not a valid index ({exc})")
            weight_map = {}
        for shard in sorted(set(weight_map.values()) if isinstance(weight_map, dict) else ()):
            if not (directory / str(shard)).is_file():
                found.append(f"{directory / str(shard)}: missing (named by {INDEX_NAME})")
    for path in weight_files(directory):
        try:
            read_header(path)
        except (OSError, WeightFileError) as exc:
            found.append(str(exc))
    return found


def summary(directory: Path) -> WeightSummary | None:
    """Parameters and saved dtype of a local checkpoint's safetensors files; ``None`` when
    it has none (``.bin`` checkpoints) or one cannot be read."""
    files = weight_files(directory)
    if not files:
        return None
    n_params = n_bytes = 0
    by_dtype: Counter[str] = Counter()
    try:
        for path in files:
            for tensor in read_header(path).values():
                count = 1
                shape = tensor.get("shape", [])
                for dim in shape if isinstance(shape, list) else []:
                    count *= int(dim)
                dtype = str(tensor.get("dtype"))
                n_params += count
                n_bytes += count * DTYPE_BYTES.get(dtype, 4)
                by_dtype[dtype] += count
    except (OSError, WeightFileError, TypeError, ValueError):
        return None
    top = by_dtype.most_common(1)[0][0] if by_dtype else None
    return WeightSummary(n_params, n_bytes, TORCH_NAMES.get(top) if top else None)


def gib(n_bytes: float) -> str:
    """``"3.2 GiB"``."""
    return f"{n_bytes / 2**30:.1f} GiB"
