"""Build a random-weight tiny Qwen3-VL (real architecture, tiny sizes) that loads like the real model."""

from __future__ import annotations

from pathlib import Path

# The special tokens Qwen3-VL's processor and chat template rely on, in the order their ids are given.
SPECIAL_TOKENS: tuple[str, ...] = (
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
)

# ChatML as Qwen3-VL renders it: a video item becomes <|vision_start|><|video_pad|><|vision_end|>,
# which the processor expands into per-frame `<t seconds>` markers and video tokens.
CHAT_TEMPLATE = (
    "{%- for message in messages -%}"
    "{{- '<|im_start|>' + message['role'] + '\\n' -}}"
    "{%- if message['content'] is string -%}{{- message['content'] -}}"
    "{%- else -%}{%- for item in message['content'] -%}"
    "{%- if item['type'] == 'video' or 'video' in item -%}{{- '<|vision_start|><|video_pad|><|vision_end|>' -}}"
    "{%- elif item['type'] == 'image' or 'image' in item -%}{{- '<|vision_start|><|image_pad|><|vision_end|>' -}}"
    "{%- elif item['type'] == 'text' -%}{{- item['text'] -}}"
    "{%- endif -%}{%- endfor -%}{%- endif -%}"
    "{{- '<|im_end|>\\n' -}}"
    "{%- endfor -%}"
    "{%- if add_generation_prompt -%}{{- '<|im_start|>assistant\\n' -}}{%- endif -%}"
)


def _byte_level_alphabet() -> list[str]:
    """The 256 printable symbols GPT-2 style byte-level BPE uses for raw bytes."""
    printable = list(range(ord("!"), ord("~") + 1))
    printable += list(range(ord("¡"), ord("¬") + 1)) + list(range(ord("®"), ord("ÿ") + 1))
    codes = printable[:]
    extra = 0
    for byte in range(256):
        if byte not in printable:
            printable.append(byte)
            codes.append(256 + extra)
            extra += 1
    return [chr(code) for code in codes]


def build_tokenizer() -> object:
    """A byte-level tokenizer (256 byte symbols, no merges) with Qwen's special tokens."""
    from transformers import Qwen2Tokenizer

    vocab = {symbol: index for index, symbol in enumerate(_byte_level_alphabet())}
    for token in SPECIAL_TOKENS:
        vocab[token] = len(vocab)
    tokenizer = Qwen2Tokenizer(
        vocab=vocab,
        merges=[],
        unk_token="<|endoftext|>",  # noqa: S106 - a vocabulary entry, not a secret
        eos_token="<|im_end|>",  # noqa: S106
        pad_token="<|endoftext|>",  # noqa: S106
        additional_special_tokens=list(SPECIAL_TOKENS[1:]),
    )
    tokenizer.chat_template = CHAT_TEMPLATE
    return tokenizer


def tiny_config(token_ids: dict[str, int], vocab_size: int) -> object:
    """A Qwen3-VL configuration with tiny sizes; the token ids match the tokenizer's."""
    from transformers import Qwen3VLConfig

    text_config = {
        "vocab_size": vocab_size,
        "hidden_size": 64,
        "intermediate_size": 128,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "head_dim": 16,
        "max_position_embeddings": 32768,
        "rope_parameters": {
            "rope_type": "default",
            "rope_theta": 5_000_000.0,
            "mrope_section": [4, 2, 2],
            "mrope_interleaved": True,
        },
        "tie_word_embeddings": True,
        "bos_token_id": token_ids["<|endoftext|>"],
        "eos_token_id": token_ids["<|im_end|>"],
        "pad_token_id": token_ids["<|endoftext|>"],
    }
    vision_config = {
        "depth": 2,
        "hidden_size": 32,
        "intermediate_size": 64,
        "num_heads": 4,
        "out_hidden_size": 64,
        "patch_size": 16,
        "spatial_merge_size": 2,
        "temporal_patch_size": 2,
        "num_position_embeddings": 64,
        "deepstack_visual_indexes": [0, 1],
    }
    return Qwen3VLConfig(
        text_config=text_config,
        vision_config=vision_config,
        image_token_id=token_ids["<|image_pad|>"],
        video_token_id=token_ids["<|video_pad|>"],
        vision_start_token_id=token_ids["<|vision_start|>"],
        vision_end_token_id=token_ids["<|vision_end|>"],
        tie_word_embeddings=True,
    )


def make_tiny_model(directory: Path, *, seed: int = 0) -> Path:
    """Write model, tokenizer, processor and chat template into `directory`; returns it."""
    import torch
    from transformers import (
        GenerationConfig,
        Qwen2VLImageProcessor,
        Qwen3VLForConditionalGeneration,
        Qwen3VLProcessor,
        Qwen3VLVideoProcessor,
    )

    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = build_tokenizer()
    token_ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    config = tiny_config(token_ids, vocab_size=len(tokenizer))
    torch.manual_seed(seed)
    model = Qwen3VLForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        eos_token_id=token_ids["<|im_end|>"],
        pad_token_id=token_ids["<|endoftext|>"],
        do_sample=False,
    )
    model.save_pretrained(directory)
    processor = Qwen3VLProcessor(
        image_processor=Qwen2VLImageProcessor(
            patch_size=16,
            merge_size=2,
            temporal_patch_size=2,
            size={"longest_edge": 16_777_216, "shortest_edge": 65_536},
            image_mean=[0.5, 0.5, 0.5],
            image_std=[0.5, 0.5, 0.5],
        ),
        # Qwen3-VL-4B-Instruct's shipped video settings, so sampling behaves as with the real model.
        video_processor=Qwen3VLVideoProcessor(
            patch_size=16,
            merge_size=2,
            temporal_patch_size=2,
            size={"longest_edge": 25_165_824, "shortest_edge": 4_096},
            fps=2,
            min_frames=4,
            max_frames=768,
            cap_pixels_per_frame=True,
        ),
        tokenizer=tokenizer,
        chat_template=CHAT_TEMPLATE,
    )
    processor.save_pretrained(directory)
    return directory


def make_scripted_tiny_model(directory: Path, *, says: str) -> Path:
    """A tiny Qwen3-VL whose every answer is `says`, for tests that need a known (e.g. JSON) answer.

    Built from `make_tiny_model`'s parts: `says` becomes one added token; the text layers add nothing
    (their output projections are zero), so the answer depends only on the prompt's last token, and
    the untied output head maps the generation prompt's final newline to that token and the token to
    <|im_end|>. The vision tower, processor and generation stay real; only the words are fixed.
    """
    import torch
    from tokenizers import AddedToken
    from transformers import Qwen3VLForConditionalGeneration

    make_tiny_model(directory)
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(directory)
    tokenizer = processor.tokenizer
    tokenizer.add_tokens([AddedToken(says, special=False, normalized=False)])
    answer = tokenizer.convert_tokens_to_ids(says)
    newline = tokenizer.encode("\n", add_special_tokens=False)[-1]
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    token_ids = {token: tokenizer.convert_tokens_to_ids(token) for token in SPECIAL_TOKENS}
    config = tiny_config(token_ids, vocab_size=len(tokenizer))
    config.tie_word_embeddings = False
    config.text_config.tie_word_embeddings = False
    model = Qwen3VLForConditionalGeneration(config).eval()
    model.generation_config = Qwen3VLForConditionalGeneration.from_pretrained(directory).generation_config
    text = model.model.language_model
    with torch.no_grad():
        for layer in text.layers:
            layer.self_attn.o_proj.weight.zero_()
            layer.mlp.down_proj.weight.zero_()
        embeddings = text.embed_tokens.weight
        embeddings[newline].zero_()
        embeddings[newline, 0] = 1.0
        embeddings[answer].zero_()
        embeddings[answer, 1] = 1.0
        model.lm_head.weight.zero_()
        model.lm_head.weight[answer, 0] = 10.0
        model.lm_head.weight[end, 1] = 10.0
    model.save_pretrained(directory)
    processor.save_pretrained(directory)
    return directory
