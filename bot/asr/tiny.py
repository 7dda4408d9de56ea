"""A tiny Whisper built locally (no download) for tests: real architecture, tokenizer and generation.

The encoder has random weights. The decoder is set by hand to say one given sentence whatever it
hears: token embeddings are zero, each position's embedding is a one-hot, the layers add nothing,
and the output projection maps position p to the sentence's p-th token. So a test can follow a
known spoken question through the real audio decoding, feature extraction, `generate` and
tokenizer decoding; it never measures recognition, which needs real weights.
"""

from __future__ import annotations

import json
from pathlib import Path

_SPECIAL_PREFIX = ("<|endoftext|>", "<|startoftranscript|>")
_SPECIAL_SUFFIX = ("<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>", "<|nospeech|>")
NO_TIMESTAMPS = "<|notimestamps|>"
# <|startoftranscript|> <|lang|> <|transcribe|> <|notimestamps|> come before the first spoken token.
_PROMPT_TOKENS = 4
_LOGIT = 10.0


def _special_tokens() -> list[str]:
    """Whisper's special tokens in its order: text end, start, languages, tasks, no-timestamps."""
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    return [*_SPECIAL_PREFIX, *(f"<|{code}|>" for code in LANGUAGES), *_SPECIAL_SUFFIX, NO_TIMESTAMPS]


def _build_tokenizer(directory: Path) -> object:
    """A byte-level Whisper tokenizer (256 byte symbols, no merges) with Whisper's special tokens."""
    from transformers import WhisperTokenizer

    from bot.vlm.tiny import _byte_level_alphabet

    vocab = {symbol: index for index, symbol in enumerate(_byte_level_alphabet())}
    specials = _special_tokens()
    for token in specials:
        vocab[token] = len(vocab)
    (directory / "vocab.json").write_text(json.dumps(vocab), encoding="utf-8")
    (directory / "merges.txt").write_text("#version: 0.2\n", encoding="utf-8")
    end = "<|endoftext|>"
    tokenizer = WhisperTokenizer(
        str(directory / "vocab.json"),
        str(directory / "merges.txt"),
        unk_token=end,
        bos_token=end,
        eos_token=end,
        pad_token=end,
    )
    tokenizer.add_special_tokens({"additional_special_tokens": specials[1:]})
    return tokenizer


def make_tiny_whisper(directory: Path, *, says: str) -> Path:
    """Write a tiny Whisper (model, tokenizer, feature extractor, generation config) that says `says`."""
    import torch
    from transformers import GenerationConfig, WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = _build_tokenizer(directory)
    ids = tokenizer.convert_tokens_to_ids  # type: ignore[attr-defined]
    sentence = tokenizer.encode(says, add_special_tokens=False)  # type: ignore[attr-defined]
    end = ids("<|endoftext|>")
    positions = _PROMPT_TOKENS + len(sentence) + 8
    width = max(64, positions)
    config = WhisperConfig(
        vocab_size=len(tokenizer),  # type: ignore[arg-type]
        num_mel_bins=80,
        d_model=width,
        encoder_layers=1,
        decoder_layers=1,
        encoder_attention_heads=2,
        decoder_attention_heads=2,
        encoder_ffn_dim=64,
        decoder_ffn_dim=64,
        max_source_positions=1500,
        max_target_positions=positions,
        tie_word_embeddings=False,
        pad_token_id=end,
        bos_token_id=end,
        eos_token_id=end,
        decoder_start_token_id=ids("<|startoftranscript|>"),
    )
    torch.manual_seed(0)
    model = WhisperForConditionalGeneration(config).eval()
    decoder = model.model.decoder
    with torch.no_grad():
        decoder.embed_tokens.weight.zero_()
        for layer in decoder.layers:
            for projection in (layer.self_attn.out_proj, layer.encoder_attn.out_proj, layer.fc2):
                projection.weight.zero_()
                projection.bias.zero_()
        decoder.embed_positions.weight.zero_()
        for position in range(positions):
            decoder.embed_positions.weight[position, position] = 1.0
        decoder.layer_norm.weight.fill_(1.0)
        decoder.layer_norm.bias.zero_()
        model.proj_out.weight.zero_()
        # The token at position p predicts position p + 1: the last prompt token predicts the first word.
        for offset, token in enumerate([*sentence, end]):
            model.proj_out.weight[token, _PROMPT_TOKENS - 1 + offset] = _LOGIT
    model.generation_config = GenerationConfig(
        decoder_start_token_id=config.decoder_start_token_id,
        bos_token_id=end,
        eos_token_id=end,
        pad_token_id=end,
        is_multilingual=True,
        lang_to_id={f"<|{code}|>": ids(f"<|{code}|>") for code in LANGUAGES},
        task_to_id={"transcribe": ids("<|transcribe|>"), "translate": ids("<|translate|>")},
        no_timestamps_token_id=ids(NO_TIMESTAMPS),
        prev_sot_token_id=ids("<|startofprev|>"),
        suppress_tokens=[],
        begin_suppress_tokens=[],
    )
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)  # type: ignore[attr-defined]
    WhisperFeatureExtractor(feature_size=80).save_pretrained(directory)
    return directory
