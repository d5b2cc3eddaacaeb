"""``finetune merge``: fold a LoRA adapter into its base and save plain safetensors weights
(what vLLM and the hf backend without peft load), with the base's processor beside them."""

from __future__ import annotations

import json
from pathlib import Path

from eval_harness.errors import DataError


def adapter_base(adapter: Path) -> str:
    """The base an adapter folder names (``adapter_config.json``)."""
    config = adapter / "adapter_config.json"
    if not config.is_file():
        raise DataError.single(str(adapter), "not a LoRA adapter folder (no adapter_config.json)")
    base = json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path")
    if not base:
        raise DataError.single(str(config), "names no base model",
                               fix="pass --base PATH_OR_HUB_ID")
    return str(base)


def merge_adapter(adapter: Path, output: Path, base: str | None = None) -> Path:
    from peft import PeftModel
    from transformers import AutoModelForImageTextToText

    from eval_harness.models.hf import load_processor, resolve_model_folder

    adapter = Path(adapter)
    folder, _ = resolve_model_folder(base or adapter_base(adapter))
    if not (adapter / "adapter_model.safetensors").is_file():
        raise DataError.single(str(adapter), "no adapter_model.safetensors (weights load "
                               "from safetensors only)")
    model = AutoModelForImageTextToText.from_pretrained(
        str(folder), use_safetensors=True, trust_remote_code=False, local_files_only=True)
    merged = PeftModel.from_pretrained(model, str(adapter), local_files_only=True)
    merged = merged.merge_and_unload()
    output = Path(output)
    output.mkdir(parents=True, exist_ok=True)
    merged.save_pretrained(str(output), safe_serialization=True)
    load_processor(folder).save_pretrained(str(output))
    return output
