"""Rewrite a tiny checkpoint saved by ``save_pretrained`` into the file layout of the
published checkpoints (Qwen/Qwen2-VL-*-Instruct, Qwen/Qwen2.5-VL-*-Instruct,
llava-hf/llava-1.5-*-hf), so the backend is tested on what users download, not only on what
the installed transformers writes.

Where the layouts differ (and what this writes):

- the image processor: ``preprocessor_config.json``, flat; Qwen's with top-level
  ``min_pixels``/``max_pixels`` (3136 and 12845056) and no ``size``; llava-hf's a
  ``CLIPImageProcessor`` that resizes the shortest side and centre-crops a square. The
  nested ``processor_config.json`` of newer transformers is not there (llava-hf has a small
  one of processor settings only);
- ``generation_config.json``: Qwen's with ``do_sample``, ``repetition_penalty`` 1.05,
  ``temperature`` 0.1 (Qwen2.5-VL) or 0.01 (Qwen2-VL), ``top_k`` 1, ``top_p`` 0.001 and an
  EOS list (``<|im_end|>``, ``<|endoftext|>``); llava-hf's with bos, eos and pad ids only;
- the chat template in ``chat_template.json`` (Qwen: also in ``tokenizer_config.json``);
- ``tokenizer_config.json`` naming the model's own tokenizer class (``Qwen2Tokenizer``, whose
  pre-tokenizer splits digits one by one, or ``LlamaTokenizer``), with ``vocab.json`` and
  ``merges.txt`` next to ``tokenizer.json``;
- ``config.json``: Qwen2-VL's and Qwen2.5-VL's flat (the text model's keys at the top
  level, ``torch_dtype``, ``rope_scaling`` with ``type: mrope``), llava-hf's nested;
- the weights in two safetensors shards with ``model.safetensors.index.json``.

The values are those of the published files; the token ids are the tiny tokenizer's.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

CLIP_MEAN = [0.48145466, 0.4578275, 0.40821073]
CLIP_STD = [0.26862954, 0.26130258, 0.27577711]
QWEN_MIN_PIXELS = 3136
QWEN_MAX_PIXELS = 12845056
QWEN_REPETITION_PENALTY = 1.05


def _read(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _write(path: Path, data: Any) -> None:
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _chat_template(directory: Path) -> str:
    jinja = directory / "chat_template.jinja"
    template = jinja.read_text(encoding="utf-8")
    jinja.unlink()
    _write(directory / "chat_template.json", {"chat_template": template})
    return template


def _token_id(directory: Path, token: str) -> int:
    vocab = _read(directory / "tokenizer.json")["model"]["vocab"]
    added = {t["content"]: t["id"] for t in _read(directory / "tokenizer.json")["added_tokens"]}
    return int(added.get(token, vocab.get(token)))


def _vocab_and_merges(directory: Path) -> None:
    """``vocab.json`` and ``merges.txt`` from ``tokenizer.json``, as the published repos
    carry them next to it."""
    model = _read(directory / "tokenizer.json")["model"]
    _write(directory / "vocab.json", model["vocab"])
    merges = [m if isinstance(m, str) else " ".join(m) for m in model["merges"]]
    (directory / "merges.txt").write_text(
        "#version: 0.2\n" + "\n".join(merges) + "\n", encoding="utf-8"
    )


def _shard_weights(directory: Path) -> None:
    """Split ``model.safetensors`` into two shards and an index, as large checkpoints are."""
    from safetensors.torch import load_file, save_file

    single = directory / "model.safetensors"
    tensors = load_file(str(single))
    single.unlink()
    names = sorted(tensors)
    half = len(names) // 2
    weight_map: dict[str, str] = {}
    total = 0
    for i, part in enumerate((names[:half], names[half:]), start=1):
        file = f"model-{i:05d}-of-00002.safetensors"
        save_file(
            {n: tensors[n].contiguous() for n in part},
            str(directory / file),
            metadata={"format": "pt"},
        )
        for n in part:
            weight_map[n] = file
            total += tensors[n].numel() * tensors[n].element_size()
    _write(
        directory / "model.safetensors.index.json",
        {"metadata": {"total_size": total}, "weight_map": weight_map},
    )


def _flatten_qwen_config(directory: Path) -> None:
    config = _read(directory / "config.json")
    text = config.pop("text_config", {})
    for key, value in text.items():
        if key not in ("model_type", "architectures", "dtype") and key not in config:
            config[key] = value
    config["torch_dtype"] = config.pop("dtype", "float32")
    scaling = config.get("rope_scaling") or text.get("rope_parameters") or {}
    if "mrope_section" in scaling:
        config["rope_scaling"] = {"type": "mrope", "mrope_section": scaling["mrope_section"]}
        config.pop("rope_parameters", None)
    _write(directory / "config.json", config)


def publish_qwen(directory: str | Path, *, family: str = "qwen2_vl") -> Path:
    """Rewrite a tiny Qwen2-VL (or, ``family="qwen2_5_vl"``, Qwen2.5-VL) checkpoint in the
    published layout."""
    out = Path(directory)
    processor_class = {"qwen2_vl": "Qwen2VLProcessor", "qwen2_5_vl": "Qwen2_5_VLProcessor"}[family]
    (out / "processor_config.json").unlink()
    _write(
        out / "preprocessor_config.json",
        {
            "min_pixels": QWEN_MIN_PIXELS,
            "max_pixels": QWEN_MAX_PIXELS,
            "patch_size": 14,
            "temporal_patch_size": 2,
            "merge_size": 2,
            "image_mean": CLIP_MEAN,
            "image_std": CLIP_STD,
            "image_processor_type": "Qwen2VLImageProcessor",
            "processor_class": processor_class,
        },
    )
    template = _chat_template(out)
    im_end, endoftext = _token_id(out, "<|im_end|>"), _token_id(out, "<|endoftext|>")
    _write(
        out / "generation_config.json",
        {
            "bos_token_id": endoftext,
            "pad_token_id": endoftext,
            "do_sample": True,
            "eos_token_id": [im_end, endoftext],
            "repetition_penalty": QWEN_REPETITION_PENALTY,
            "temperature": 0.1 if family == "qwen2_5_vl" else 0.01,
            "top_p": 0.001,
            "top_k": 1,
            "transformers_version": "4.49.0",
        },
    )
    tokenizer = _read(out / "tokenizer_config.json")
    tokenizer.pop("backend", None)
    tokenizer.update(
        {
            "tokenizer_class": "Qwen2Tokenizer",
            "bos_token": None,
            "errors": "replace",
            "clean_up_tokenization_spaces": False,
            "split_special_tokens": False,
            "chat_template": template,
        }
    )
    _write(out / "tokenizer_config.json", tokenizer)
    _vocab_and_merges(out)
    _flatten_qwen_config(out)
    _shard_weights(out)
    return out


def publish_llava(directory: str | Path) -> Path:
    """Rewrite a tiny LLaVA-1.5 checkpoint in llava-hf's layout."""
    out = Path(directory)
    processor = _read(out / "processor_config.json")
    image = processor.pop("image_processor")
    image["processor_class"] = "LlavaProcessor"
    _write(out / "preprocessor_config.json", image)
    _write(out / "processor_config.json", processor)
    _chat_template(out)
    _write(
        out / "generation_config.json",
        {
            "_from_model_config": True,
            "bos_token_id": _token_id(out, "<s>"),
            "eos_token_id": _token_id(out, "</s>"),
            "pad_token_id": _token_id(out, "<pad>"),
            "transformers_version": "4.45.0.dev0",
        },
    )
    tokenizer = _read(out / "tokenizer_config.json")
    tokenizer.pop("backend", None)
    tokenizer.update(
        {
            "tokenizer_class": "LlamaTokenizer",
            "add_bos_token": True,
            "add_eos_token": False,
            "legacy": False,
            "padding_side": "left",
        }
    )
    _write(out / "tokenizer_config.json", tokenizer)
    config = _read(out / "config.json")
    config["torch_dtype"] = config.pop("dtype", "float32")
    _write(out / "config.json", config)
    _shard_weights(out)
    return out
