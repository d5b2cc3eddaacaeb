"""Can a vision model alone read the primary class from the synthetic images?

The tiny-demo must take its class from the pixels. This probe separates the vision tower
from the rest of the model: it trains an image classifier on the train split's images
(each image labelled with its checkup's primary class) and reports the test split's macro-F1
(class scores averaged over a checkup's images), epoch by epoch.

- ``--model cnn``: a 4-block CNN (3x3 convs, batch norm, max pooling): what the images
  carry at a given resolution.
- ``--model qwen-vit``: the Qwen2.5-VL vision tower (the architecture the demo must use),
  built from a config at the demo's sizes and trained from scratch, its merged tokens
  pooled into a linear head.

    .venv/bin/python scripts/vision_probe.py --data build/tiny-demo/data --model cnn
    .venv/bin/python scripts/vision_probe.py --data build/tiny-demo/data --model qwen-vit

Images go through the same path as training (``model_image`` at ``--max-pixels``, default
the tiny recipe's 112*112, then the demo's image processor); the CNN gets the processor's
grid size in pixels.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a file, without installing the package


def _cnn(classes: int) -> Any:
    from torch import nn

    def block(i: int, o: int) -> nn.Module:
        return nn.Sequential(nn.Conv2d(i, o, 3, padding=1), nn.BatchNorm2d(o), nn.ReLU(),
                             nn.MaxPool2d(2))

    return nn.Sequential(block(3, 16), block(16, 32), block(32, 64), block(64, 64),
                         nn.AdaptiveMaxPool2d(1), nn.Flatten(), nn.Linear(64, classes))


class _VitClassifier:
    """The Qwen2.5-VL vision tower with a linear head on its pooled merged tokens."""

    def __init__(self, hidden: int, depth: int, classes: int, pool: str) -> None:
        from torch import nn
        from transformers import Qwen2_5_VLConfig
        from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import (
            Qwen2_5_VisionTransformerPretrainedModel,
        )

        from eval_harness.models.tiny_qwen import build_config, build_tokenizer

        # The demo's own vision config (tiny_qwen.build_config), at the probe's sizes.
        config = build_config(build_tokenizer(640, ()), hidden=128, vision_hidden=hidden,
                              vision_depth=depth)
        assert isinstance(config, Qwen2_5_VLConfig)
        self.tower = Qwen2_5_VisionTransformerPretrainedModel._from_config(config.vision_config)
        self.head = nn.Linear(config.vision_config.out_hidden_size, classes)
        self.merge = config.vision_config.spatial_merge_size ** 2
        self.pool = pool

    def parameters(self) -> list[Any]:
        return [*self.tower.parameters(), *self.head.parameters()]

    def train(self, on: bool) -> None:
        self.tower.train(on)

    def __call__(self, pixels: Any, grid: Any) -> Any:
        import torch

        out = self.tower(pixels, grid_thw=grid)
        tokens = out.pooler_output if getattr(out, "pooler_output", None) is not None else out
        parts = torch.split(tokens, (grid.prod(-1) // self.merge).tolist())
        pooled = torch.stack([p.max(0).values if self.pool == "max" else p.mean(0)
                              for p in parts])
        return self.head(pooled)


def _images(encoded: tuple[Any, Any]) -> int:
    """How many images an encoded checkup holds: ViT pixels are patch rows, one grid each."""
    pixels, grid = encoded
    return len(pixels) if grid is None else len(grid)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", type=Path, required=True)
    parser.add_argument("--model", choices=("cnn", "qwen-vit"), required=True)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--lr", type=float, default=None,
                        help="default 2e-3 (cnn), 3e-3 (qwen-vit, the tiny recipe's)")
    parser.add_argument("--max-pixels", type=int, default=112 * 112)
    parser.add_argument("--vision-hidden", type=int, default=128)
    parser.add_argument("--vision-depth", type=int, default=2)
    parser.add_argument("--pool", choices=("mean", "max"), default="mean")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    import numpy as np
    import torch
    from PIL import Image
    from sklearn.metrics import f1_score
    from torch import nn

    from eval_harness.data.images import model_image
    from eval_harness.data.load import load_checkups
    from eval_harness.labels.classes import CLASSES
    from eval_harness.models.tiny_qwen import build_processor, build_tokenizer

    torch.manual_seed(args.seed)
    rng = np.random.default_rng(args.seed)
    processor = build_processor(build_tokenizer(640, ())).image_processor
    started = time.perf_counter()

    def encode(paths: list[Path]) -> tuple[Any, Any]:
        images = [model_image(p, args.max_pixels) for p in paths]
        out = processor(images=images, return_tensors="pt", max_pixels=args.max_pixels)
        if args.model == "qwen-vit":
            return out["pixel_values"], out["image_grid_thw"]
        # The CNN sees the same resolution the ViT's grid covers.
        _, h, w = (int(v) for v in out["image_grid_thw"][0])
        size = (w * processor.patch_size, h * processor.patch_size)
        stack = np.stack([np.asarray(i.resize(size, Image.Resampling.BILINEAR)) for i in images])
        return torch.tensor(stack).permute(0, 3, 1, 2).float() / 255, None

    checkups = list(load_checkups(args.data))
    split = {name: [(encode(c.photograph_paths + c.radiograph_paths), CLASSES.index(c.primary))
                    for c in checkups if c.split == name] for name in ("train", "test")}
    print(f"encoded {sum(map(len, split.values()))} checkups in "
          f"{time.perf_counter() - started:.0f} s", flush=True)
    if args.model == "cnn":
        net = _cnn(len(CLASSES))
        forward = lambda x: net(x[0])  # noqa: E731
        params, train_mode = list(net.parameters()), net.train
    else:
        vit = _VitClassifier(args.vision_hidden, args.vision_depth, len(CLASSES), args.pool)
        forward = lambda x: vit(*x)  # noqa: E731
        params, train_mode = vit.parameters(), vit.train
    lr = args.lr or (2e-3 if args.model == "cnn" else 3e-3)
    optimiser = torch.optim.AdamW(params, lr, weight_decay=0.01)
    train, test = split["train"], split["test"]
    for epoch in range(args.epochs):
        train_mode(True)
        total = 0.0
        order = rng.permutation(len(train))
        for start in range(0, len(order), 8):  # 8 checkups (all their images) a step
            batch = [train[i] for i in order[start:start + 8]]
            x0 = torch.cat([b[0][0] for b in batch])
            x1 = None if batch[0][0][1] is None else torch.cat([b[0][1] for b in batch])
            y = torch.tensor([label for x, label in batch for _ in range(_images(x))])
            loss = nn.functional.cross_entropy(forward((x0, x1)), y)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += loss.item() * len(batch)
        train_mode(False)
        with torch.no_grad():
            predicted = [int(forward(x).log_softmax(-1).mean(0).argmax()) for x, _ in test]
        f1 = f1_score([label for _, label in test], predicted, average="macro")
        print(f"epoch {epoch + 1}: train loss {total / len(train):.3f}, test macro-F1 "
              f"{f1:.3f} ({time.perf_counter() - started:.0f} s)", flush=True)


if __name__ == "__main__":
    main()
