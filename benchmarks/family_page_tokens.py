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

PAGE = (1300, 447)


def count(processor: Any, token_id: int, image: Image.Image, chat: str) -> tuple[int, Any]:
    inputs = processor(text=[chat], images=[[image]], return_tensors="pt")
    return int((inputs["input_ids"][0] == token_id).sum()), inputs


def qwen(prefix: str, patch: int, budget: Any) -> tuple[int, str]:
    import transformers
    from transformers import Qwen2VLImageProcessor

    from tests.tiny_models.checkpoint import build_tokenizer
    from tests.tiny_models.qwen2_vl import CHAT_TEMPLATE, TOKENIZER

    tokenizer, ids = build_tokenizer(TOKENIZER, 512)
    image_processor = Qwen2VLImageProcessor(
        patch_size=patch,
        merge_size=2,
        size={"shortest_edge": budget["min_pixels"], "longest_edge": budget["max_pixels"]},
    )
    video = getattr(transformers, f"{prefix}VideoProcessor", transformers.Qwen2VLVideoProcessor)
    processor = getattr(transformers, f"{prefix}Processor")(
        image_processor=image_processor,
        tokenizer=tokenizer,
        video_processor=video(),
        chat_template=CHAT_TEMPLATE,
    )
    chat = "<|vision_start|><|image_pad|><|vision_end|>"
    n, inputs = count(processor, ids["<|image_pad|>"], page(), chat)
    _, h, w = inputs["image_grid_thw"][0].tolist()
    return n, f"resized to {w * patch} x {h * patch} (factor {patch * 2}), no padding, no tiles"


def llava_15() -> tuple[int, str]:
    from transformers import CLIPImageProcessor, LlavaProcessor

    from tests.tiny_models.checkpoint import build_tokenizer
    from tests.tiny_models.llava import CHAT_TEMPLATE, TOKENIZER

    tokenizer, ids = build_tokenizer(TOKENIZER, 512)
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
    from transformers import LlavaNextImageProcessor, LlavaNextProcessor

    from tests.tiny_models.checkpoint import build_tokenizer
    from tests.tiny_models.llava import CHAT_TEMPLATE, TOKENIZER

    tokenizer, ids = build_tokenizer(TOKENIZER, 512)
    pinpoints = [[336, 672], [672, 336], [672, 672], [1008, 336], [336, 1008]]
    processor = LlavaNextProcessor(
        image_processor=LlavaNextImageProcessor(
            size={"shortest_edge": 336},
            crop_size={"height": 336, "width": 336},
            do_center_crop=True,
            image_grid_pinpoints=pinpoints,
        ),
        tokenizer=tokenizer,
        patch_size=14,
        vision_feature_select_strategy="default",
        num_additional_image_tokens=1,
        chat_template=CHAT_TEMPLATE,
    )
    n, inputs = count(processor, ids["<image>"], page(), "<image>")
    tiles = int(inputs["pixel_values"].shape[1])
    return n, f"as is; anyres grid: {tiles - 1} tiles of 336 + a base view, unpadded"


def gemma3() -> tuple[int, str]:
    from transformers import Gemma3ImageProcessor, Gemma3Processor

    from tests.tiny_models.checkpoint import build_tokenizer
    from tests.tiny_models.families import GEMMA3_CHAT_TEMPLATE, GEMMA3_TOKENIZER

    tokenizer, ids = build_tokenizer(GEMMA3_TOKENIZER, 512)
    processor = Gemma3Processor(
        image_processor=Gemma3ImageProcessor(size={"height": 896, "width": 896}),
        tokenizer=tokenizer,
        chat_template=GEMMA3_CHAT_TEMPLATE,
        image_seq_length=256,
    )
    n, _ = count(processor, ids["<image_soft_token>"], page(), "<start_of_image>")
    return n, "as is; resized to 896 x 896 (aspect not kept, as the original), no tiles"


def idefics3() -> tuple[int, str]:
    from transformers import Idefics3ImageProcessor, Idefics3Processor

    from tests.tiny_models.checkpoint import build_tokenizer
    from tests.tiny_models.families import IDEFICS3_CHAT_TEMPLATE, IDEFICS3_TOKENIZER

    tokenizer, ids = build_tokenizer(IDEFICS3_TOKENIZER, 512)
    processor = Idefics3Processor(
        image_processor=Idefics3ImageProcessor(
            size={"longest_edge": 4 * 364}, max_image_size={"longest_edge": 364}
        ),
        tokenizer=tokenizer,
        image_seq_len=169,
        chat_template=IDEFICS3_CHAT_TEMPLATE,
    )
    n, inputs = count(processor, ids["<image>"], page(), "<image>")
    tiles = int(inputs["pixel_values"].shape[1])
    return n, f"as is; {tiles - 1} tiles of 364 + a global view, no padding"


def mistral3() -> tuple[int, str]:
    from transformers import PixtralImageProcessor, PixtralProcessor

    from tests.tiny_models.checkpoint import build_tokenizer
    from tests.tiny_models.families import MISTRAL3_CHAT_TEMPLATE, MISTRAL3_TOKENIZER

    tokenizer, ids = build_tokenizer(MISTRAL3_TOKENIZER, 512)
    processor = PixtralProcessor(
        image_processor=PixtralImageProcessor(size={"longest_edge": 1540}, patch_size=14),
        tokenizer=tokenizer,
        patch_size=14,
        spatial_merge_size=2,
        chat_template=MISTRAL3_CHAT_TEMPLATE,
    )
    n, inputs = count(processor, ids["[IMG]"], page(), "[IMG]")
    height, width = inputs["image_sizes"][0].tolist()
    return n, f"as is; read at {width} x {height} (patches of 14, merged 2 x 2), no padding"


def internvl() -> tuple[int, str]:
    from transformers import GotOcr2ImageProcessor, InternVLProcessor, InternVLVideoProcessor

    from tests.tiny_models.checkpoint import build_tokenizer
    from tests.tiny_models.families import INTERNVL_CHAT_TEMPLATE, INTERNVL_TOKENIZER

    tokenizer, ids = build_tokenizer(INTERNVL_TOKENIZER, 512)
    processor = InternVLProcessor(
        image_processor=GotOcr2ImageProcessor(
            size={"height": 448, "width": 448}, crop_to_patches=True, max_patches=12
        ),
        tokenizer=tokenizer,
        video_processor=InternVLVideoProcessor(),
        image_seq_length=256,
        chat_template=INTERNVL_CHAT_TEMPLATE,
    )
    n, inputs = count(processor, ids["<IMG_CONTEXT>"], page(), "<IMG_CONTEXT>")
    tiles = int(inputs["pixel_values"].shape[0])
    return n, f"as is; {tiles - 1} tiles of 448 + a thumbnail, no padding"


def mllama() -> tuple[int, str]:
    from transformers import MllamaImageProcessor, MllamaProcessor

    from tests.tiny_models.checkpoint import build_tokenizer
    from tests.tiny_models.families import MLLAMA_CHAT_TEMPLATE, MLLAMA_TOKENIZER

    tokenizer, _ = build_tokenizer(MLLAMA_TOKENIZER, 512)
    processor = MllamaProcessor(
        image_processor=MllamaImageProcessor(size={"height": 560, "width": 560}, max_image_tiles=4),
        tokenizer=tokenizer,
        chat_template=MLLAMA_CHAT_TEMPLATE,
    )
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
    ("Idefics3", "HuggingFaceM4/Idefics3-8B-Llama3", idefics3),
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
