"""Manifests from Hugging Face config.json files (dense decoder-only transformers).

The GEMMs are those of a Llama-style block as a tensor-parallel engine (vLLM,
SGLang) shards them across `tp` ranks; each rank runs the per-rank shapes, so
those are what the manifest lists:

  qkv      column-parallel  N = (heads/tp + 2 * kv_heads_per_rank) * head_dim   K = hidden
  o        row-parallel     N = hidden          K = heads/tp * head_dim
  gate_up  column-parallel  N = 2 * intermediate/tp                             K = hidden
  down     row-parallel     N = hidden          K = intermediate/tp
  lm_head  vocab-parallel   N = pad64(vocab)/tp K = hidden              (count 1)

By default the layers carry the epilogues the block applies right after
them (aotgemm/epilogues): gate_up the gated epilogue of the MLP's activation
(`hidden_activation` where the config has it, as Gemma 2 and 3 do, else
`hidden_act`, default silu; `GATED_EPILOGUE`): `swiglu` for SiLU, `geglu` for
GELU's tanh form (Gemma; Gemma 1's legacy `gelu` means it too), with W
[gate; up] stacked along N, as vLLM's merged layer stores it, and the output
intermediate/tp wide; a plain GEMM for any other activation (exact GELU). o and down `residual_add` (the decoder's residual stream added
to the output), except in the models that normalise those outputs before the
add (`POST_NORM_MODEL_TYPES`: Gemma 2 and 3, OLMo 2), where they are plain.
A layer whose projections carry a bias gets `bias` instead (`_biases`): the
q/k/v of the Qwen2 family (`QKV_BIAS_MODEL_TYPES`) and of configs with
`attention_bias`, which biases o too, and gate_up and down with `mlp_bias`.
`fuse=False` (`--no-fuse`) lists plain GEMMs.

fp8: `fp8=SCALES` (`--fp8`) lists every layer but the LM head as an fp8 e4m3
W8A8 GEMM with those scales (the shipped manifests/*-fp8*.toml are its
output); without it, a checkpoint quantized to fp8 gives its own scheme's
scales (`_checkpoint_scales`), and another quantization is refused.

A multimodal config whose language model is in `text_config` (Gemma 3,
Mistral 3, Llama 4, newer Qwen-VL files) is read from there; its name and
dtype may come from the outer config.

kv_heads_per_rank is kv_heads/tp, or 1 when there are fewer KV heads than
ranks (each KV head is then replicated over tp/kv_heads ranks). The vocab is
padded to a multiple of 64 before it is split, as vLLM's ParallelLMHead does
(DEFAULT_VOCAB_PADDING_SIZE), and the padded vocab must split evenly over tp,
as vLLM requires. MoE, MLA and other architectures are out of scope, and
their configs are refused (`_refuse_other_architectures`): their expert and
latent-attention GEMMs are not these shapes, so a manifest of these shapes
would build kernels the model never runs.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .epilogues import BIAS, GEGLU, IDENTITY, RESIDUAL_ADD, SWIGLU, scale_kinds
from .errors import ManifestError
from .manifest import NAME_PATTERN, SUPPORTED_DTYPES, LayerSpec, Manifest, validate_manifest
from .problem import FLOAT8_E4M3

# vLLM pads the LM head's vocab dimension to a multiple of this before sharding it.
VOCAB_PADDING = 64
# transformers' activation names (ACT2FN) -> the gated epilogue that computes act(gate) * up. The tanh-form GELUs
# are one function under four names; exact "gelu" differs from it by up to 4.7e-4 and has no epilogue.
GATED_EPILOGUE = {"silu": SWIGLU, "swish": SWIGLU, "gelu_pytorch_tanh": GEGLU, "gelu_python_tanh": GEGLU,
                  "gelu_new": GEGLU, "gelu_fast": GEGLU}
# Config keys that mark an architecture whose GEMMs are not a dense Llama block's: (key, what it means).
OTHER_ARCHITECTURES = (
    ("num_local_experts", "experts: a mixture-of-experts model"),  # Mixtral, gpt-oss, Llama 4, Qwen3-MoE
    ("num_experts", "experts: a mixture-of-experts model"),  # Qwen2-MoE
    ("n_routed_experts", "routed experts: a mixture-of-experts model"),  # DeepSeek-V2/V3
    ("kv_lora_rank", "the latent rank of multi-head latent attention"),  # DeepSeek-V2/V3
)
# model_type values whose decoder layers normalise the attention's and the MLP's outputs before adding the residual
# (residual + norm(o(...)): Gemma 2's and 3's post_attention_layernorm / post_feedforward_layernorm, OLMo 2's), so
# no residual add follows o's or down's GEMM.
POST_NORM_MODEL_TYPES = ("gemma2", "gemma3", "gemma3_text", "olmo2")
# model_type values whose attentions give q, k and v a bias whatever the config says, and o_proj none (transformers'
# Qwen2 family: Qwen2, Qwen2.5 and the Qwen2-VL / Qwen2.5-VL language models). Elsewhere `attention_bias` biases q,
# k, v and o (Llama, Qwen3, Gemma, OLMo 2, Granite) and `mlp_bias` gate, up and down (Llama, Granite).
QKV_BIAS_MODEL_TYPES = ("qwen2", "qwen2_vl", "qwen2_vl_text", "qwen2_5_vl", "qwen2_5_vl_text")
# compressed-tensors' (weights strategy, input activations strategy) of an fp8 e4m3 W8A8 scheme -> the manifest's
# `scales` that computes it; block- and group-wise strategies have no scale epilogue on Hopper.
COMPRESSED_TENSORS_SCALES = {("tensor", "tensor"): "tensor", ("channel", "tensor"): "row", ("channel", "token"): "rowwise"}
DEFAULT_GPUS = ("H100_SXM",)
DEFAULT_DTYPE = "bfloat16"


def manifest_from_hf_config(
    cfg: Mapping[str, Any],
    *,
    tp: int,
    name: str | None = None,
    gpus: tuple[str, ...] | None = None,
    source: str | None = None,
    fuse: bool = True,
    m_buckets: tuple[int, ...] | None = None,
    fp8: str | None = None,
) -> Manifest:
    """The manifest of the per-rank GEMMs of the model `cfg` (a parsed config.json) at tensor parallelism `tp`.

    `fuse`: give gate_up its gated epilogue and o and down residual_add where
    the model adds the residual to them (the module docstring); False lists
    plain GEMMs. `m_buckets`: the M buckets
    (default: the manifest format's, powers of two 1 ... 8192).
    `fp8`: list the layers as fp8 e4m3 W8A8 GEMMs with these scales (a
    manifest's `scales`: "tensor", "row", "rowwise", "mx"), as a model
    quantized for serving runs them: every layer but the LM head, which fp8
    recipes keep in 16 bits, with no epilogue but the scale one. Default: the
    scales of the checkpoint's own fp8 scheme where its `quantization_config`
    names one (`_checkpoint_scales`), else the config's dtype.

    `name` defaults to the basename of cfg["_name_or_path"] (else "model"),
    with "-tp{tp}" appended when tp > 1, and "-fp8" ("-fp8-{scales}" but per
    tensor) where `fp8` is given; an explicit `name` is used as given.
    Raises ManifestError, naming `source`, when the config lacks a field or
    cannot be split over `tp` ranks.
    """
    where = source or "<config.json>"
    if not isinstance(cfg, Mapping):
        raise ManifestError(f"{where}: expected a JSON object (a config.json), got {type(cfg).__name__}")
    if isinstance(tp, bool) or not isinstance(tp, int) or tp < 1:
        raise ManifestError(f"{where}: tp: must be a positive integer, got {tp!r}")
    outer = cfg
    if "hidden_size" not in cfg and isinstance(cfg.get("text_config"), Mapping):
        # a multimodal model's language model; the outer config names the model and may hold its dtype
        cfg, where = cfg["text_config"], f"{where}: text_config"
        cfg = {**{k: outer[k] for k in ("_name_or_path", "dtype", "torch_dtype", "model_type")
               if k in outer}, **cfg}
    _refuse_other_architectures(cfg, where)
    if fp8 is not None and fp8 not in scale_kinds():
        raise ManifestError(f"{where}: fp8: unknown scales {fp8!r}; one of {', '.join(scale_kinds())}")
    # the checkpoint's quantization is the outer config's (a multimodal model's language model is quantized with it)
    scales = fp8 if fp8 is not None else _checkpoint_scales(outer, source or "<config.json>")

    hidden = _config_int(cfg, "hidden_size", where)
    intermediate = _config_int(cfg, "intermediate_size", where)
    heads = _config_int(cfg, "num_attention_heads", where)
    kv_heads = _config_int(cfg, "num_key_value_heads", where, default=heads)
    # head_dim is its own field where heads * head_dim != hidden_size (Qwen3, Gemma).
    head_dim = _config_int(cfg, "head_dim", where, default=hidden // heads)
    vocab = _config_int(cfg, "vocab_size", where)
    n_layers = _config_int(cfg, "num_hidden_layers", where)

    if heads % tp:
        raise ManifestError(
            f"{where}: num_attention_heads: {heads} attention heads cannot be split over tp={tp} ranks; "
            f"tensor parallelism shards attention by head, so tp must divide {heads} "
            f"(possible tp: {_divisors(heads)})")
    if kv_heads >= tp and kv_heads % tp:
        raise ManifestError(
            f"{where}: num_key_value_heads: {kv_heads} KV heads cannot be split over tp={tp} ranks; "
            f"tp must divide {kv_heads}, or be a multiple of it (then each KV head is replicated)")
    if kv_heads < tp and tp % kv_heads:
        raise ManifestError(
            f"{where}: num_key_value_heads: {kv_heads} KV heads cannot be replicated evenly over tp={tp} ranks; "
            f"when tp exceeds the KV heads it must be a multiple of {kv_heads}")
    if intermediate % tp:
        raise ManifestError(
            f"{where}: intermediate_size: {intermediate} cannot be split over tp={tp} ranks; "
            f"the MLP is sharded along it, so tp must divide {intermediate} (possible tp: {_divisors(intermediate)})")
    padded_vocab = -(-vocab // VOCAB_PADDING) * VOCAB_PADDING
    if padded_vocab % tp:
        raise ManifestError(
            f"{where}: vocab_size: {vocab} (padded to {padded_vocab}, a multiple of {VOCAB_PADDING}, as vLLM does) "
            f"cannot be split over tp={tp} ranks; vLLM's vocab-parallel LM head needs tp to divide {padded_vocab}")

    heads_per_rank = heads // tp
    kv_heads_per_rank = max(1, kv_heads // tp)
    residual = RESIDUAL_ADD if fuse and cfg.get("model_type") not in POST_NORM_MODEL_TYPES else IDENTITY
    gated = GATED_EPILOGUE.get(_activation(cfg, where), IDENTITY) if fuse else IDENTITY
    # A biased layer's epilogue is its bias: the gated and residual folds take bias-free projections only
    # (aotgemm.runtime.fuse_transformers), and a biased gate/up pair runs as one biased GEMM, the activation after.
    qkv_bias, o_bias, mlp_bias = _biases(cfg, where)
    qkv_ep, o_ep = (BIAS if fuse and qkv_bias else IDENTITY), (BIAS if fuse and o_bias else residual)
    gate_up_ep, down_ep = (BIAS, BIAS) if fuse and mlp_bias else (gated, residual)
    if scales is not None:  # an fp8 layer's epilogue is its scale epilogue, which the manifest's scales name
        qkv_ep = o_ep = gate_up_ep = down_ep = IDENTITY
    layers = (
        LayerSpec("qkv", n=(heads_per_rank + 2 * kv_heads_per_rank) * head_dim, k=hidden, count=n_layers,
                  epilogue=qkv_ep),
        LayerSpec("o", n=hidden, k=heads_per_rank * head_dim, count=n_layers, epilogue=o_ep),
        LayerSpec("gate_up", n=2 * intermediate // tp, k=hidden, count=n_layers, epilogue=gate_up_ep),
        LayerSpec("down", n=hidden, k=intermediate // tp, count=n_layers, epilogue=down_ep),
        LayerSpec("lm_head", n=padded_vocab // tp, k=hidden, count=1),
    )
    if name is None:
        name = _default_name(cfg, tp) + ("" if fp8 is None else "-fp8" if fp8 == "tensor" else f"-fp8-{fp8}")
    manifest = Manifest(
        model=name,
        gpus=gpus if gpus is not None else DEFAULT_GPUS,
        dtypes=(_config_dtype(cfg),) if scales is None else (FLOAT8_E4M3,),
        layers=layers if scales is None else layers[:-1],  # fp8 recipes keep the LM head in 16 bits
        tp=tp,
        source=source,
        scales=scales,
        **({"m_buckets": tuple(m_buckets)} if m_buckets else {}),
    )
    # The same rules as a manifest file: alignment of N and K, GPU names, the name's characters...
    return validate_manifest(manifest, where)


def manifest_from_hf_file(
    path: str | os.PathLike,
    *,
    tp: int,
    name: str | None = None,
    gpus: tuple[str, ...] | None = None,
    fuse: bool = True,
    m_buckets: tuple[int, ...] | None = None,
    fp8: str | None = None,
) -> Manifest:
    """`manifest_from_hf_config` of the config.json file at `path`, or of the config.json in the folder `path` (a
    downloaded model's); every error names the file.

    Raises ManifestError when the file cannot be read, is not UTF-8 JSON, or
    is not a config aotgemm can split (see manifest_from_hf_config).
    """
    if Path(path).is_dir():
        if not (Path(path) / "config.json").is_file():
            raise ManifestError(f"{path}: no config.json in this folder; pass a model's config.json or the folder "
                                "that holds it")
        path = Path(path) / "config.json"
    where = str(path)
    hint = "expected a Hugging Face config.json"
    try:
        text = Path(path).read_bytes().decode("utf-8")
    except OSError as e:
        raise ManifestError(f"{where}: cannot read the config: {e.strerror or e}") from None
    except UnicodeDecodeError as e:
        raise ManifestError(f"{where}: not UTF-8 text (byte {e.start}); {hint}") from None
    try:
        cfg = json.loads(text)
    except json.JSONDecodeError as e:
        raise ManifestError(f"{where}: line {e.lineno}, column {e.colno}: not valid JSON ({e.msg}); {hint}") from None
    except RecursionError:
        raise ManifestError(f"{where}: JSON nested too deeply; {hint}") from None
    if isinstance(cfg, dict) and not cfg.get("_name_or_path"):
        # No name in the config: the file's ("qwen3-4b-config.json" -> "qwen3-4b"), or its folder's
        # for a plain config.json, so manifests and bundles say which model they are.
        p = Path(path).resolve()
        base = p.parent.name if p.stem.lower() == "config" else re.sub(r"[-_.]?config$", "", p.stem, flags=re.I)
        cfg = {**cfg, "_name_or_path": base}
    return manifest_from_hf_config(cfg, tp=tp, name=name, gpus=gpus, source=where, fuse=fuse, m_buckets=m_buckets,
                                   fp8=fp8)


def _config_int(cfg: Mapping[str, Any], key: str, where: str, default: int | None = None) -> int:
    value = cfg.get(key)
    if value is None:  # absent, or JSON null (some configs write "head_dim": null)
        if default is not None:
            return default
        raise ManifestError(f"{where}: {key}: missing from the config; aotgemm reads dense decoder-only "
                            "transformer configs (Llama, Mistral, Qwen, Gemma style)")
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ManifestError(f"{where}: {key}: expected a positive integer, got {value!r}")
    return value


def _refuse_other_architectures(cfg: Mapping[str, Any], where: str) -> None:
    for key, what in OTHER_ARCHITECTURES:
        value = cfg.get(key)
        if value is not None and value is not False and value != 0:
            raise ManifestError(
                f"{where}: {key}: {value!r} {what}, whose GEMMs are not a dense block's; manifest from-hf "
                "reads dense decoder-only configs (Llama, Mistral, Qwen, Gemma style): write the manifest's "
                "layers by hand (docs/manifest-format.md)")


def _checkpoint_scales(cfg: Mapping[str, Any], where: str) -> str | None:
    """The manifest `scales` of the checkpoint's fp8 e4m3 W8A8 scheme (its `quantization_config`), None for an
    unquantized one; a quantization no scale epilogue computes is refused, naming it."""
    qc = cfg.get("quantization_config")
    if qc is None:
        return None
    if not isinstance(qc, Mapping):
        raise ManifestError(f"{where}: quantization_config: expected an object, got {qc!r}")
    method = qc.get("quant_method")
    found = None
    if method == "fbgemm_fp8":  # per-channel weights, activations quantized per token on the fly
        found = "rowwise"
    elif method == "modelopt" and str(qc.get("quant_algo", "")).upper() == "FP8":  # per-tensor, static
        found = "tensor"
    elif method == "compressed-tensors":
        forms = set()
        for group in (qc.get("config_groups") or {}).values():
            w, a = group.get("weights") or {}, group.get("input_activations") or {}
            fp8 = all(t.get("type") == "float" and t.get("num_bits") == 8 for t in (w, a))
            forms.add(COMPRESSED_TENSORS_SCALES.get((w.get("strategy"), a.get("strategy"))) if fp8 else None)
        found = forms.pop() if len(forms) == 1 else None
    if found is None:
        detail = f" with weight_block_size {qc['weight_block_size']}" if "weight_block_size" in qc else ""
        raise ManifestError(
            f"{where}: quantization_config: quant_method {method!r}{detail} is no scheme aotgemm builds (bf16, "
            f"fp16, or fp8 e4m3 W8A8 with per-tensor, per-channel or per-token scales); pass --fp8 "
            f"{'|'.join(scale_kinds())} to list its layers for the fp8 recipe you serve it with")
    return found


def _biases(cfg: Mapping[str, Any], where: str) -> tuple[bool, bool, bool]:
    """Whether (q/k/v, o, the MLP's gate/up/down) carry a bias, as transformers builds the model from `cfg`."""
    flags = {}
    for key in ("attention_bias", "mlp_bias"):
        value = cfg.get(key) or False  # absent or null: transformers' default, no bias
        if not isinstance(value, bool):
            raise ManifestError(f"{where}: {key}: expected true or false, got {value!r}")
        flags[key] = value
    if cfg.get("model_type") in QKV_BIAS_MODEL_TYPES:
        return True, False, False
    return flags["attention_bias"], flags["attention_bias"], flags["mlp_bias"]


def _activation(cfg: Mapping[str, Any], where: str) -> str:
    """The MLP's activation: `hidden_activation` (Gemma 2 and 3), else `hidden_act` (most models), default silu.
    Gemma 1 configs say `hidden_act: "gelu"` and mean its tanh form, as transformers reads them (GemmaConfig sets
    gelu_pytorch_tanh in its place)."""
    for key in ("hidden_activation", "hidden_act"):
        value = cfg.get(key)
        if value is not None:
            if not isinstance(value, str):
                raise ManifestError(f"{where}: {key}: expected an activation name, got {value!r}")
            if cfg.get("model_type") == "gemma" and value.lower() == "gelu":
                return "gelu_pytorch_tanh"
            return value.lower()
    return "silu"


def _config_dtype(cfg: Mapping[str, Any]) -> str:
    # Newer transformers write "dtype", older ones "torch_dtype". Weights stored
    # in another type (float32) are served in bfloat16 by the engines, so build that.
    for key in ("dtype", "torch_dtype"):
        value = cfg.get(key)
        if isinstance(value, str) and value.removeprefix("torch.") in SUPPORTED_DTYPES:
            return value.removeprefix("torch.")
    return DEFAULT_DTYPE


def _default_name(cfg: Mapping[str, Any], tp: int) -> str:
    path = cfg.get("_name_or_path")
    base = path.replace("\\", "/").rstrip("/").rsplit("/", 1)[-1] if isinstance(path, str) else ""
    # A local path may hold characters a manifest name may not (spaces, ...).
    base = "-".join(NAME_PATTERN.findall(base)) or "model"
    return f"{base}-tp{tp}" if tp > 1 else base


def _divisors(n: int) -> str:
    small = [d for d in range(1, min(n, 64) + 1) if n % d == 0]
    return ", ".join(map(str, small)) + (", ..." if n > 64 else "")
