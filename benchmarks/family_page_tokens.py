"""What each family's preprocessing does to one wide page: size, padding, tiles and visual
tokens of a 1300 x 447 page, as the hf backend hands it to each processor.

Every processor is the installed transformers class, configured with the image settings of
the published checkpoint named in its row (and, for the Qwen families, the pixel budget the
backend pins); the tokenizer is a small one trained on the spot (tests/tiny_models), which
changes no visual token count. No weights are loaded. Prints one table row per family.

    python benchmarks/family_page_tokens.py
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from PIL import Image

from rest_checks.models import hf_images
from rest_checks.models.pixels import QWEN3_PIXEL_BUDGET, QWEN_PIXEL_BUDGET
from tests.tiny_models import families

PAGE = (1300, 447)


def count(processor: Any, token_id: int, image: Image.Image, chat: str) -> tuple[int, Any]:
    inputs = processor(text=[chat], images=[[image]], return_tensors="pt")
    return int((inputs["input_ids"][0] == token_id).sum()), inputs


def tokenizer_of(spec: Any) -> tuple[Any, dict[str, int]]:
    from tests.tiny_models.checkpoint import build_tokenizer

    return build_tokenizer(spec, 512)


def qwen(prefix: str, patch: int, budget: Any) -> tuple[int, str]:
    import transformers
    from transformers import Qwen2VLImageProcessor

    from tests.tiny_models import families
    from tests.tiny_models.qwen2_vl import CHAT_TEMPLATE, TOKENIZER

    tokenizer, ids = tokenizer_of(TOKENIZER)
    low, high = budget["min_pixels"], budget["max_pixels"]
    if prefix == "Qwen3VL":
        processor = families.qwen3_vl_processor(tokenizer, low, high)
    else:
        processor = getattr(transformers, f"{prefix}Processor")(
            image_processor=Qwen2VLImageProcessor(
                patch_size=patch, size={"shortest_edge": low, "longest_edge": high}
            ),
            tokenizer=tokenizer,
            video_processor=transformers.Qwen2VLVideoProcessor(),
            chat_template=CHAT_TEMPLATE,
        )
    chat = "<|vision_start|><|image_pad|><|vision_end|>"
    n, inputs = count(processor, ids["<|image_pad|>"], page(), chat)
    _, h, w = inputs["image_grid_thw"][0].tolist()
    return n, f"resized to {w * patch} x {h * patch} (factor {patch * 2}), no padding, no tiles"


def llava_15() -> tuple[int, str]:
    from transformers import CLIPImageProcessor, LlavaProcessor

    from tests.tiny_models.llava import CHAT_TEMPLATE, TOKENIZER

    tokenizer, ids = tokenizer_of(TOKENIZER)
    processor = LlavaProcessor(
        image_processor=CLIPImageProcessor(
            size={"shortest_edge": 336}, crop_size={"height": 336, "width": 336}
        ),
        tokenizer=tokenizer,
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
    )
    square = hf_images.pad_to_square(page(), (122, 116, 104))
    n, _ = count(processor, ids["<image>"], square, "<image>")
    return n, "padded to 1300 x 1300 (mean colour), resized to 336 x 336, no tiles"


def llava_next() -> tuple[int, str]:
    from tests.tiny_models import families
    from tests.tiny_models.llava import TOKENIZER

    tokenizer, ids = tokenizer_of(TOKENIZER)
    pinpoints = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]
    processor = families.llava_next_processor(tokenizer, 336, pinpoints, patch=14)
    n, inputs = count(processor, ids["<image>"], page(), "<image>")
    tiles = int(inputs["pixel_values"].shape[1])
    return n, f"as is; anyres grid: {tiles - 1} tiles of 336 + a base view, unpadded"


def gemma3() -> tuple[int, str]:
    from tests.tiny_models import families

    tokenizer, ids = tokenizer_of(families.GEMMA3_TOKENIZER)
    processor = families.gemma3_processor(tokenizer, side=896, tokens=256)
    n, _ = count(processor, ids["<image_soft_token>"], page(), "<start_of_image>")
    return n, "as is; resized to 896 x 896 (aspect not kept, as the original), no tiles"


def tiled(spec: Any, make_processor: Callable[..., Any], tile: int, tokens: int) -> tuple[int, str]:
    """Idefics3's and SmolVLM2's tiling: the longest side resized to 4 tiles."""
    tokenizer, ids = tokenizer_of(spec)
    processor = make_processor(tokenizer, tile=tile, tiles=4, tokens=tokens)
    n, inputs = count(processor, ids["<image>"], page(), "<image>")
    tiles = int(inputs["pixel_values"].shape[1])
    return n, f"as is; {tiles - 1} tiles of {tile} + a global view, no padding"


def mistral3() -> tuple[int, str]:
    from tests.tiny_models import families

    tokenizer, ids = tokenizer_of(families.MISTRAL3_TOKENIZER)
    processor = families.pixtral_processor(tokenizer, longest=1540, patch=14)
    n, inputs = count(processor, ids["[IMG]"], page(), "[IMG]")
    height, width = inputs["image_sizes"][0].tolist()
    return n, f"as is; read at {width} x {height} (patches of 14, merged 2 x 2), no padding"


def internvl() -> tuple[int, str]:
    from tests.tiny_models import families

    tokenizer, ids = tokenizer_of(families.INTERNVL_TOKENIZER)
    processor = families.internvl_processor(tokenizer, tile=448, max_tiles=12, tokens=256)
    n, inputs = count(processor, ids["<IMG_CONTEXT>"], page(), "<IMG_CONTEXT>")
    tiles = int(inputs["pixel_values"].shape[0])
    return n, f"as is; {tiles - 1} tiles of 448 + a thumbnail, no padding"


def mllama() -> tuple[int, str]:
    from tests.tiny_models import families

    tokenizer, _ = tokenizer_of(families.MLLAMA_TOKENIZER)
    processor = families.mllama_processor(tokenizer, tile=560)
    inputs = processor(text=["<|image|>"], images=[[page()]], return_tensors="pt")
    tiles = int(inputs["aspect_ratio_mask"][0][0].sum())
    return tiles * 1601, f"as is; {tiles} tiles of 560 (read by cross-attention), no padding"


def page() -> Image.Image:
    return Image.new("RGB", PAGE, "white")


ROWS: list[tuple[str, str, Callable[[], tuple[int, str]]]] = [
    ("Qwen2-VL", "Qwen/Qwen2-VL-2B-Instruct", lambda: qwen("Qwen2VL", 14, QWEN_PIXEL_BUDGET)),
    (
        "Qwen2.5-VL",
        "Qwen/Qwen2.5-VL-3B-Instruct",
        lambda: qwen("Qwen2_5_VL", 14, QWEN_PIXEL_BUDGET),
    ),
    ("Qwen3-VL", "Qwen/Qwen3-VL-2B-Instruct", lambda: qwen("Qwen3VL", 16, QWEN3_PIXEL_BUDGET)),
    ("LLaVA-1.5", "llava-hf/llava-1.5-7b-hf", llava_15),
    ("LLaVA-NeXT", "llava-hf/llava-v1.6-mistral-7b-hf", llava_next),
    ("Gemma 3", "google/gemma-3-4b-it", gemma3),
    (
        "Idefics3",
        "HuggingFaceM4/Idefics3-8B-Llama3",
        lambda: tiled(families.IDEFICS3_TOKENIZER, families.idefics3_processor, 364, 169),
    ),
    (
        "SmolVLM2",
        "HuggingFaceTB/SmolVLM2-2.2B-Instruct",
        lambda: tiled(families.SMOLVLM_TOKENIZER, families.smolvlm_processor, 384, 81),
    ),
    ("Mistral3 (Pixtral)", "mistralai/Mistral-Small-3.1-24B-Instruct-2503", mistral3),
    ("InternVL (-hf)", "OpenGVLab/InternVL3-2B-hf", internvl),
    ("Llama 3.2 Vision", "meta-llama/Llama-3.2-11B-Vision-Instruct", mllama),
]


def main() -> int:
    import transformers

    print(f"a {PAGE[0]} x {PAGE[1]} page; transformers {transformers.__version__}")
    print(f"{'family':<20} {'visual tokens':>13}  what happens to the page")
    for family, _, measure in ROWS:
        try:
            tokens, how = measure()
        except Exception as exc:  # one family that fails is a row, not the end of the table
            print(f"{family:<20} {'-':>13}  FAILED: {type(exc).__name__}: {exc}"[:200])
            continue
        print(f"{family:<20} {tokens:>13}  {how}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
