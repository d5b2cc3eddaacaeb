"""Synthetic intraoral photographs and radiographs with one visible cue per class.

The real COde images cannot reach our machines, so the synthetic dataset draws cartoon
stand-ins: a frontal dental arch for the photographs and a panoramic strip for the
radiographs. Each class present leaves a cue a small vision model can learn (a dark
lesion for caries, a red gum margin for gingivitis, a periapical halo for pulpitis, ...),
while pose, colour, lighting and noise vary so that the cue, not the layout, is what
separates the classes. Every random choice comes from the caller's ``numpy`` generator,
so a given generator state always yields the same pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

CARIES = "Dental Caries"
GINGIVITIS = "Gingivitis"
CLASS_III = "Class III Malocclusion"
PULPITIS = "Pulpitis"
TOOTH_LOSS = "Tooth Loss"
STRUCTURE_LOSS = "Tooth Structure Loss"

Box = tuple[float, float, float, float]  # left, top, right, bottom
Colour = tuple[int, int, int]
TEETH_PER_ARCH = 10


@dataclass
class _ArchCues:
    """Which crowns of one arch carry a cue (indices into the arch, left to right)."""

    missing: int | None = None
    chip: int | None = None
    grey: int | None = None
    caries: set[int] = field(default_factory=set)


def _colour(rng: np.random.Generator, low: Colour, high: Colour) -> Colour:
    return tuple(int(rng.integers(lo, hi + 1)) for lo, hi in zip(low, high, strict=True))


def _scaled(colour: Colour, factor: float) -> Colour:
    return tuple(min(255, max(0, round(c * factor))) for c in colour)


def _pose(image: Image.Image, rng: np.random.Generator, max_deg: float, scale: tuple[float, float],
          max_shift: float, fill: int | Colour) -> Image.Image:
    """Rotate, scale and shift about the centre so no two images share one layout."""
    w, h = image.size
    angle = math.radians(rng.uniform(-max_deg, max_deg))
    s = rng.uniform(*scale)
    tx, ty = rng.uniform(-max_shift, max_shift, 2) * (w, h)
    # AFFINE maps each output pixel back to the input: the inverse of the forward pose.
    cos, sin = math.cos(angle) / s, math.sin(angle) / s
    cx, cy = w / 2 + tx, h / 2 + ty
    data = (cos, sin, w / 2 - cos * cx - sin * cy, -sin, cos, h / 2 + sin * cx - cos * cy)
    return image.transform(image.size, Image.Transform.AFFINE, data,
                           resample=Image.Resampling.BILINEAR, fillcolor=fill)


def _finish(image: Image.Image, rng: np.random.Generator, gain: tuple[float, float],
            slope: float, sigma: tuple[float, float]) -> Image.Image:
    """Apply a linear brightness gradient (uneven lighting) and Gaussian sensor noise."""
    w, h = image.size
    pixels = np.asarray(image, dtype=np.float32)
    phi = rng.uniform(0, 2 * math.pi)
    xs = np.linspace(-1, 1, w, dtype=np.float32) * math.cos(phi)
    ys = np.linspace(-1, 1, h, dtype=np.float32) * math.sin(phi)
    light = np.float32(rng.uniform(*gain)) + np.float32(rng.uniform(0, slope)) * (xs + ys[:, None])
    # One noise value per pixel shared by the channels (luma noise) costs a third of RGB noise.
    noise = rng.standard_normal((h, w), dtype=np.float32) * np.float32(rng.uniform(*sigma))
    if pixels.ndim == 3:
        light, noise = light[:, :, None], noise[:, :, None]
    # In-place arithmetic: the temporaries of the plain expression cost more than the maths.
    np.multiply(pixels, light, out=pixels)
    np.add(pixels, noise, out=pixels)
    np.clip(pixels, 0, 255, out=pixels)
    return Image.fromarray(pixels.astype(np.uint8), mode=image.mode)


def _arch(cx: float, edge_y: float, radius: float, height: float, upper: bool) -> list[Box]:
    """Crown boxes of one arch seen from the front: a ring of teeth projected on the image."""
    half = math.radians(80)
    step = 2 * half / TEETH_PER_ARCH
    boxes: list[Box] = []
    for i in range(TEETH_PER_ARCH):
        t0, t1 = -half + i * step, -half + (i + 1) * step
        tc = (t0 + t1) / 2
        # Teeth turning away from the camera look shorter and curve away (the smile line).
        h = height * (0.55 + 0.45 * math.cos(tc))
        edge = edge_y + (-1 if upper else 1) * height * 0.12 * (1 - math.cos(tc))
        top, bottom = (edge - h, edge) if upper else (edge, edge + h)
        boxes.append((cx + radius * math.sin(t0) + 0.7, top, cx + radius * math.sin(t1) - 0.7,
                      bottom))
    return boxes


def _margin(boxes: list[Box], upper: bool) -> list[tuple[float, float]]:
    """The scalloped gum line: highest over each crown centre, dipping at the papillae."""
    points: list[tuple[float, float]] = []
    for x0, y0, x1, y1 in boxes:
        w, cerv, into = x1 - x0, (y0 if upper else y1), (1 if upper else -1)
        dip = (y1 - y0) * 0.22 * into
        points += [(x0, cerv + dip), (x0 + 0.25 * w, cerv + 0.3 * dip), (x0 + 0.5 * w, cerv),
                   (x0 + 0.75 * w, cerv + 0.3 * dip)]
    x1, y0, y1 = boxes[-1][2], boxes[-1][1], boxes[-1][3]
    points.append((x1, (y0 + (y1 - y0) * 0.22) if upper else (y1 - (y1 - y0) * 0.22)))
    return points


def _draw_arch(draw: ImageDraw.ImageDraw, rng: np.random.Generator, boxes: list[Box],
               upper: bool, shade: Colour, shadow: Colour, cues: _ArchCues) -> None:
    """Draw one arch's crowns, outlined so the overlap order of the arches stays visible."""
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        if i == cues.missing:
            continue
        w, h = x1 - x0, y1 - y0
        fill = _scaled(shade, 1 + rng.uniform(-0.04, 0.03))
        if i == cues.grey:  # a dead pulp greys the crown from inside
            fill = _colour(rng, (120, 118, 112), (150, 146, 140))
        radius = 0.3 * min(w, h)
        draw.rounded_rectangle((x0, y0, x1, y1), radius, fill=fill,
                               outline=_scaled(fill, 0.55), width=2)
        if i in cues.caries:
            cy = (y0 + h * rng.uniform(0.35, 0.6)) if upper else (y1 - h * rng.uniform(0.35, 0.6))
            cx = x0 + w * rng.uniform(0.35, 0.65)
            rx, ry = w * rng.uniform(0.2, 0.3), h * rng.uniform(0.12, 0.2)
            # One darkness scaled by fixed brown ratios: independent channels drift to olive.
            v = rng.uniform(45, 95)
            brown = (round(v), round(v * rng.uniform(0.55, 0.65)), round(v * rng.uniform(0.3, 0.4)))
            draw.ellipse((cx - rx, cy - ry, cx + rx, cy + ry), fill=brown)
        if i == cues.chip:  # a wedge cut from the incisal corner, dark as the mouth behind it
            edge, into = (y1, -1) if upper else (y0, 1)
            xk, dx = (x0, 1) if rng.random() < 0.5 else (x1, -1)
            a, b = w * rng.uniform(0.5, 0.75), h * rng.uniform(0.3, 0.5) * into
            draw.polygon([(xk - dx, edge - into), (xk + dx * a, edge - into),
                          (xk + dx * a * 0.45, edge + b * 0.5), (xk + dx * a * 0.2, edge + b * 0.6),
                          (xk - dx, edge + b)], fill=shadow, outline=_scaled(shade, 0.5))


def draw_photograph(rng: np.random.Generator, classes: frozenset[str],
                    size: tuple[int, int] = (320, 240)) -> Image.Image:
    """A frontal intraoral photograph (RGB) of both arches showing the cues of ``classes``."""
    w, h = size
    gum = _colour(rng, (195, 95, 0), (235, 125, 0))
    gum = (gum[0], gum[1], gum[1] + int(rng.integers(5, 26)))  # blue above green keeps it pink
    shade = _colour(rng, (228, 215, 180), (252, 242, 222))
    mouth = _colour(rng, (35, 8, 0), (60, 18, 0))
    # Blue at or above green keeps the dark mouth maroon, never the brown of a caries lesion.
    mouth = (mouth[0], mouth[1], mouth[1] + int(rng.integers(3, 11)))
    image = Image.new("RGB", size, mouth)
    draw = ImageDraw.Draw(image)
    cx, occlusal = w * rng.uniform(0.47, 0.53), h * rng.uniform(0.47, 0.53)
    radius, height, overbite = w * rng.uniform(0.4, 0.46), h * rng.uniform(0.2, 0.24), h * 0.04
    reverse = CLASS_III in classes
    # The front arch overlaps the back one: upper in front normally, lower in Class III.
    upper = _arch(cx, occlusal + (overbite * 0.6 if reverse else overbite), radius, height, True)
    lower = _arch(cx, occlusal - (overbite if reverse else overbite * 0.6),
                  radius * (1.03 if reverse else 0.92), height * 0.9, False)
    front, back = (lower, upper) if reverse else (upper, lower)
    cues = (_ArchCues(), _ArchCues())  # front arch, back arch
    middle, inner = TEETH_PER_ARCH // 2, (1, TEETH_PER_ARCH - 1)
    if TOOTH_LOSS in classes:
        cues[int(rng.integers(2))].missing = int(rng.integers(*inner))
    if STRUCTURE_LOSS in classes:  # on a front-arch incisor, where a chip is plain to see
        cues[0].chip = int(rng.integers(middle - 2, middle + 2))
    if CARIES in classes:
        for _ in range(int(rng.integers(1, 4))):
            # Side teeth look narrow from the front; keep lesions where they are large.
            cues[int(rng.integers(2))].caries.add(int(rng.integers(middle - 3, middle + 3)))
    if PULPITIS in classes and rng.random() < 0.7:  # the photo only sometimes shows it
        cues[int(rng.integers(2))].grey = int(rng.integers(*inner))
    arches = ((back, reverse, cues[1]), (front, not reverse, cues[0]))  # drawn back to front
    for boxes, is_upper, side in arches:
        _draw_arch(draw, rng, boxes, is_upper, shade, _scaled(mouth, 0.7), side)
    inflamed = GINGIVITIS in classes
    red = _colour(rng, (150, 12, 25), (190, 35, 45))
    band = h * rng.uniform(0.1, 0.14)
    for boxes, is_upper, side in arches:
        margin = _margin(boxes, is_upper)
        # The far edge of the gum follows the crown zeniths, a smooth curve.
        outer = [(x, y + (-band if is_upper else band))
                 for x, y in [margin[0], *margin[2::4], margin[-1]]]
        draw.polygon(margin + outer[::-1], fill=gum)
        # Inflamed gums are deep red and swollen; healthy ones show a thin darker margin.
        draw.line(margin, fill=red if inflamed else _scaled(gum, 0.85),
                  width=max(4, h // 32) if inflamed else 2, joint="curve")
        if inflamed:
            rx, ry = band * 0.3, band * 0.2
            for x, y in margin[::4]:  # swollen papillae between the crowns
                draw.ellipse((x - rx, y - ry, x + rx, y + ry), fill=red)
        if side.missing is not None:  # the edentulous ridge fills the gap with gum
            x0, y0, x1, y1 = boxes[side.missing]
            top = y0 - 3 if is_upper else y1 - (y1 - y0) * 0.45
            draw.rounded_rectangle((x0, top, x1, top + (y1 - y0) * 0.45 + 3), 6, fill=gum)
    image = _pose(image, rng, 6, (0.92, 1.08), 0.04, mouth)
    return _finish(image, rng, (0.85, 1.08), 0.18, (2.0, 7.0))


def draw_radiograph(rng: np.random.Generator, classes: frozenset[str],
                    size: tuple[int, int] = (320, 200)) -> Image.Image:
    """A greyscale panoramic strip (mode "L") of both arches showing the cues of ``classes``."""
    w, h = size
    dark, bone = int(rng.integers(25, 45)), int(rng.integers(85, 110))
    enamel, dentin = int(rng.integers(215, 245)), int(rng.integers(160, 190))
    image = Image.new("L", size, dark)
    draw = ImageDraw.Draw(image)
    occlusal, gap = h * rng.uniform(0.47, 0.53), h * rng.uniform(0.03, 0.06)
    crown_h, root_h = h * rng.uniform(0.13, 0.16), h * rng.uniform(0.17, 0.21)
    n = int(rng.integers(6, 9))
    pitch, left = w * rng.uniform(0.85, 0.95) / n, w * rng.uniform(0.03, 0.08)
    # Bone ends a little past the cervical line of each arch; crowns stand in dark air.
    reach = gap / 2 + 0.75 * crown_h
    draw.rectangle((0, 0, w, occlusal - reach), fill=bone)
    draw.rectangle((0, occlusal + reach, w, h), fill=bone)
    teeth = [(s, i) for s in (-1, 1) for i in range(n)]
    missing = teeth[int(rng.integers(len(teeth)))] if TOOTH_LOSS in classes else None
    pick = [t for t in teeth if t != missing]
    chosen = {kind: pick[int(rng.integers(len(pick)))]
              for kind in (PULPITIS, CARIES, STRUCTURE_LOSS) if kind in classes}
    for s, i in teeth:
        if (s, i) == missing:
            continue
        x0 = left + i * pitch + 1.5
        x1, xc, tw = x0 + pitch - 3, x0 + (pitch - 3) / 2, pitch - 3
        edge = occlusal + s * gap / 2
        cerv = edge + s * crown_h
        apex = cerv + s * root_h * rng.uniform(0.85, 1.05)  # roots differ in length
        roots = [xc - tw * 0.2, xc + tw * 0.2] if abs(i - (n - 1) / 2) > 1.5 else [xc]
        if chosen.get(PULPITIS) == (s, i):  # periapical radiolucency around one root tip
            rx, ry = tw * rng.uniform(0.3, 0.45), root_h * rng.uniform(0.25, 0.35)
            rc = roots[int(rng.integers(len(roots)))]
            draw.ellipse((rc - rx, apex - ry, rc + rx, apex + ry), fill=dark + 8)
        half = tw * (0.32 if len(roots) == 1 else 0.17)
        for rc in roots:
            draw.polygon([(rc - half, cerv), (rc + half, cerv), (rc + tw * 0.06, apex),
                          (rc - tw * 0.06, apex)], fill=dentin)
            draw.line([(rc, cerv), (rc, apex - s * 3)], fill=dentin - 60, width=2)  # root canal
        draw.rounded_rectangle((x0, min(edge, cerv), x1, max(edge, cerv)), tw * 0.2, fill=enamel)
        core = cerv - s * crown_h * 0.7  # dentin under an enamel cap, dimmer than the cap
        draw.rectangle((x0 + tw * 0.12, min(cerv, core), x1 - tw * 0.12, max(cerv, core)),
                       fill=(enamel + dentin) // 2)
        mid = cerv - s * crown_h * 0.45  # the pulp chamber sits in the cervical half
        draw.rectangle((xc - tw * 0.15, min(cerv, mid), xc + tw * 0.15, max(cerv, mid)),
                       fill=dentin - 50)
        if chosen.get(CARIES) == (s, i):
            cx = x0 + tw * (0.22 if rng.random() < 0.5 else 0.78)
            cy, r = edge + s * crown_h * rng.uniform(0.2, 0.45), tw * rng.uniform(0.13, 0.2)
            draw.ellipse((cx - r, cy - r, cx + r, cy + r), fill=dark + 25)
        if chosen.get(STRUCTURE_LOSS) == (s, i):  # a missing occlusal corner
            xk, dx = (x0, 1) if rng.random() < 0.5 else (x1, -1)
            cut_w, cut_h = tw * rng.uniform(0.4, 0.6), crown_h * rng.uniform(0.4, 0.6)
            draw.polygon([(xk - dx, edge - s), (xk + dx * cut_w, edge - s),
                          (xk - dx, edge + s * cut_h)], fill=dark)
    # Zoom in slightly so rotation never drags the dark border into the bone bands.
    image = _pose(image, rng, 3, (1.04, 1.1), 0.02, bone)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.7, 1.4)))
    return _finish(image, rng, (0.9, 1.1), 0.12, (3.0, 8.0))
