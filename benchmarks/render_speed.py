"""Time to render a 5-line equation system to PNG, per font and DPI, with the cache cold.

    python benchmarks/render_speed.py [--repeat N]

Prints milliseconds per render (median and best of N, each a fresh render and PNG encode;
fonts stay loaded, as they do in a run) and the PNG's size.
"""

from __future__ import annotations

import argparse
import statistics
import time

from PIL import Image, features

from rest_checks.fonts import font_names
from rest_checks.render.drawing import clear_render_cache, render_png
from rest_checks.render.specs import RenderSpec

SYSTEM = "\n".join(
    [
        "2A + 3B - C + 4D - E = 17",
        "A - 2B + 5C - D + 3E = 4",
        "3A + B + 2C + 2D - 4E = 21",
        "-A + 4B - 3C + D + 2E = -6",
        "5A - B + C - 3D + E = 12",
    ]
)


def time_render(spec: RenderSpec, repeat: int) -> tuple[list[float], bytes]:
    render_png(SYSTEM, spec)  # load the font once, as a run would
    times = []
    png = b""
    for _ in range(repeat):
        clear_render_cache(fonts=False)
        start = time.perf_counter()
        png = render_png(SYSTEM, spec)
        times.append((time.perf_counter() - start) * 1000)
    return times, png


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=30, help="renders per cell (default 30)")
    args = parser.parse_args()
    clear_render_cache()
    print(
        f"Pillow {Image.__version__}, FreeType {features.version('freetype2')}, "
        f"zlib {features.version('zlib')}; 5-line system, {args.repeat} renders per row"
    )
    print(
        f"{'font':<16} {'DPI':>4} {'size (px)':>11} {'median ms':>10} {'best ms':>8} {'PNG KB':>7}"
    )
    for font in font_names():
        for dpi in (50, 100, 200):
            spec = RenderSpec(font=font, dpi=dpi)
            times, png = time_render(spec, args.repeat)
            width = int.from_bytes(png[16:20], "big")
            height = int.from_bytes(png[20:24], "big")
            print(
                f"{font:<16} {dpi:>4} {f'{width}x{height}':>11} "
                f"{statistics.median(times):>10.2f} {min(times):>8.2f} {len(png) / 1024:>7.1f}"
            )


if __name__ == "__main__":
    main()
