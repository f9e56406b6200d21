"""Tiny random-weight GLM models, built on the fly in the real formats (no hub, no downloads).

`save_hf_glm` writes a transformers directory (GlmForCausalLM: glm-4-9b-chat-hf / GLM-Edge; or
Glm4ForCausalLM: GLM-4-0414) with a tokenizer and chat template; `save_glm_gguf` writes a GGUF file of the
llama.cpp `glm4` or `chatglm` architecture (what GLM-4 / ChatGLM GGUF conversions contain).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

SPECIAL_TOKENS = [
    "<pad>",
    "<unk>",
    "<|endoftext|>",
    "[gMASK]",
    "<sop>",
    "<|system|>",
    "<|user|>",
    "<|assistant|>",
    "<|observation|>",
]
CORPUS = (
    "知识库问答系统根据上传的文档回答用户的问题，并给出引用。北京是中华人民共和国的首都，位于华北平原。"
    "请只用资料中的内容回答；如果资料里没有答案，就说不知道。模型在本地运行，不需要联网。"
    "Hello world, answer in Chinese 123."
)
# Shaped like the real ones: GLM-4 prompts open with [gMASK]<sop>; GLM-Edge prompts do not.
GLM4_TEMPLATE = (
    "[gMASK]<sop>{% for m in messages %}<|{{ m['role'] }}|>\n{{ m['content'] }}{% endfor %}"
    "{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
GLM_EDGE_TEMPLATE = (
    "{% for m in messages %}{% if m['role'] == 'system' %}<|system|>\n{{ m['content'] }}"
    "{% elif m['role'] == 'user' %}<|user|>\n{{ m['content'] }}{% else %}<|assistant|>\n{{ m['content'] }}"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|assistant|>\n{% endif %}"
)
TEMPLATES = {"glm": GLM_EDGE_TEMPLATE, "glm4": GLM4_TEMPLATE}


def render(template: str, messages: list[dict[str, str]]) -> str:
    """Render a chat template independently of the code under test."""
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    environment = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    return environment.from_string(template).render(messages=messages, add_generation_prompt=True)


def _tiny_tokenizer(template: str) -> Any:
    from tokenizers import Regex, Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {token: i for i, token in enumerate(SPECIAL_TOKENS + sorted(set(CORPUS + " \n")))}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="<unk>"))
    backend.pre_tokenizer = pre_tokenizers.Split(Regex(r"[\s\S]"), behavior="isolated")  # one token per char
    backend.decoder = decoders.Fuse()
    backend.add_special_tokens(SPECIAL_TOKENS)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=backend,
        eos_token="<|endoftext|>",
        pad_token="<pad>",
        unk_token="<unk>",
        additional_special_tokens=SPECIAL_TOKENS[3:],
    )
    tokenizer.chat_template = template
    return tokenizer


def save_hf_glm(directory: Path, architecture: str, hidden_size: int = 64, layers: int = 2) -> Path:
    """Write a random-weight GLM ("glm") or GLM-4 ("glm4") checkpoint with tokenizer into `directory`."""
    import torch
    from transformers import Glm4Config, Glm4ForCausalLM, GlmConfig, GlmForCausalLM

    tokenizer = _tiny_tokenizer(TEMPLATES[architecture])
    config_class, model_class = {"glm": (GlmConfig, GlmForCausalLM), "glm4": (Glm4Config, Glm4ForCausalLM)}[
        architecture
    ]
    config = config_class(
        vocab_size=len(tokenizer),
        hidden_size=hidden_size,
        intermediate_size=hidden_size * 2,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        head_dim=hidden_size // 4,
        pad_token_id=0,
        eos_token_id=tokenizer.eos_token_id,
        bos_token_id=None,
    )
    torch.manual_seed(0)
    model_class(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def _byte_level_alphabet() -> list[str]:
    """GPT-2's printable stand-ins for the 256 byte values (what byte-level BPE vocabularies contain)."""
    printable = [
        *range(ord("!"), ord("~") + 1),
        *range(ord("¡"), ord("¬") + 1),
        *range(ord("®"), ord("ÿ") + 1),
    ]
    extra = [b for b in range(256) if b not in printable]
    codes = dict(zip(printable + extra, printable + [256 + i for i in range(len(extra))], strict=True))
    return [chr(codes[b]) for b in range(256)]


def save_glm_gguf(path: Path, architecture: str) -> Path:
    """Write a random-weight GGUF of llama.cpp's `glm4` or `chatglm` architecture with a GLM chat template."""
    import gguf
    import numpy as np

    rng = np.random.default_rng(0)
    tokens = [*_byte_level_alphabet(), "ĠĠ", *SPECIAL_TOKENS[2:]]
    ids = {token: i for i, token in enumerate(tokens)}
    n_vocab, n_embd, n_ff, n_head, n_kv, n_layer = len(tokens), 64, 128, 4, 2, 2
    head_dim = n_embd // n_head
    writer = gguf.GGUFWriter(str(path), arch=architecture)
    writer.add_context_length(1024)
    writer.add_embedding_length(n_embd)
    writer.add_feed_forward_length(n_ff)
    writer.add_block_count(n_layer)
    writer.add_head_count(n_head)
    writer.add_head_count_kv(n_kv)
    writer.add_layer_norm_rms_eps(1e-5)
    writer.add_rope_dimension_count(head_dim // 2)  # GLM rotates half of each head
    writer.add_file_type(gguf.LlamaFileType.ALL_F32)
    writer.add_tokenizer_model("gpt2")
    writer.add_tokenizer_pre("glm4" if architecture == "glm4" else "chatglm-bpe")
    writer.add_token_list(tokens)
    writer.add_token_types([gguf.TokenType.NORMAL] * 257 + [gguf.TokenType.CONTROL] * (n_vocab - 257))
    writer.add_token_merges(["Ġ Ġ"])
    writer.add_eos_token_id(ids["<|endoftext|>"])
    writer.add_eot_token_id(ids["<|user|>"])
    writer.add_bos_token_id(ids["[gMASK]"])
    writer.add_chat_template(GLM4_TEMPLATE)

    def weight(name: str, *shape: int) -> None:
        writer.add_tensor(name, (rng.standard_normal(shape) * 0.05).astype(np.float32))

    def norm(name: str) -> None:
        writer.add_tensor(name, np.ones(n_embd, np.float32))

    weight("token_embd.weight", n_vocab, n_embd)
    norm("output_norm.weight")
    weight("output.weight", n_vocab, n_embd)
    qkv = n_embd + 2 * n_kv * head_dim
    for i in range(n_layer):
        norm(f"blk.{i}.attn_norm.weight")
        weight(f"blk.{i}.attn_qkv.weight", qkv, n_embd)
        weight(f"blk.{i}.attn_qkv.bias", qkv)
        weight(f"blk.{i}.attn_output.weight", n_embd, n_embd)
        norm(f"blk.{i}.ffn_norm.weight")
        weight(f"blk.{i}.ffn_up.weight", 2 * n_ff, n_embd)  # gate and up projections, fused
        weight(f"blk.{i}.ffn_down.weight", n_embd, n_ff)
        if architecture == "glm4":  # GLM-4-0414 adds norms after attention and after the MLP
            norm(f"blk.{i}.post_attention_norm.weight")
            norm(f"blk.{i}.post_ffw_norm.weight")
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return path
