"""`manifest from-hf`: per-rank GEMM shapes from a Hugging Face config.json, by function and by CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from aotgemm.cli import main
from aotgemm.errors import ManifestError
from aotgemm.hf import manifest_from_hf_config, manifest_from_hf_file
from aotgemm.manifest import DEFAULT_M_BUCKETS, LayerSpec, Manifest, load_manifest, parse_manifest

REPO = Path(__file__).resolve().parents[1]
DATA = Path(__file__).resolve().parent / "data" / "hf"
LLAMA_CONFIG = DATA / "llama-3.1-8b-config.json"
QWEN3_CONFIG = DATA / "qwen3-4b-config.json"


def config(path: Path) -> dict:
    return json.loads(path.read_text())


def shapes(m: Manifest) -> dict[str, tuple[int, int, int]]:
    return {layer.name: (layer.n, layer.k, layer.count) for layer in m.layers}


def error_of(cfg: dict, **kwargs) -> str:
    with pytest.raises(ManifestError) as info:
        manifest_from_hf_config(cfg, source="cfg.json", **kwargs)
    return str(info.value)


# --- Llama-3.1-8B ----------------------------------------------------------------------------------
def test_llama_tp1_is_the_shipped_manifest():
    # the shipped manifest lists plain GEMMs (the README's timed build depends on it): fuse=False
    m = manifest_from_hf_config(config(LLAMA_CONFIG), tp=1, fuse=False)
    shipped = load_manifest(REPO / "manifests" / "llama-3.1-8b.toml")
    assert m.layers == shipped.layers
    assert [layer.name for layer in m.layers] == ["qkv", "o", "gate_up", "down", "lm_head"]
    assert m == Manifest(model="model", gpus=("H100_SXM",), dtypes=("bfloat16",), layers=shipped.layers,
                         m_buckets=DEFAULT_M_BUCKETS, tp=1, source=None)


# Per rank, by hand: 32 heads and 8 KV heads of 128, hidden 4096, intermediate 14336, vocab 128256
# (already a multiple of 64, so pad64(vocab) = 128256 and each rank gets 128256 / tp rows).
@pytest.mark.parametrize("tp, expected", [
    (2, {"qkv": ((16 + 2 * 4) * 128, 4096, 32), "o": (4096, 16 * 128, 32), "gate_up": (2 * 14336 // 2, 4096, 32),
         "down": (4096, 14336 // 2, 32), "lm_head": (128256 // 2, 4096, 1)}),
    (4, {"qkv": ((8 + 2 * 2) * 128, 4096, 32), "o": (4096, 8 * 128, 32), "gate_up": (2 * 14336 // 4, 4096, 32),
         "down": (4096, 14336 // 4, 32), "lm_head": (128256 // 4, 4096, 1)}),
    (8, {"qkv": ((4 + 2 * 1) * 128, 4096, 32), "o": (4096, 4 * 128, 32), "gate_up": (2 * 14336 // 8, 4096, 32),
         "down": (4096, 14336 // 8, 32), "lm_head": (128256 // 8, 4096, 1)}),
    # 8 KV heads over 16 ranks: each KV head is replicated on 2 ranks, so every rank holds 1.
    (16, {"qkv": ((2 + 2 * 1) * 128, 4096, 32), "o": (4096, 2 * 128, 32), "gate_up": (2 * 14336 // 16, 4096, 32),
          "down": (4096, 14336 // 16, 32), "lm_head": (128256 // 16, 4096, 1)}),
])
def test_llama_tensor_parallel_splits(tp, expected):
    m = manifest_from_hf_config(config(LLAMA_CONFIG), tp=tp)
    assert shapes(m) == expected
    assert m.tp == tp


def test_llama_tp8_numbers_spelled_out():
    assert shapes(manifest_from_hf_config(config(LLAMA_CONFIG), tp=8)) == {
        "qkv": (768, 4096, 32), "o": (4096, 512, 32), "gate_up": (3584, 4096, 32),
        "down": (4096, 1792, 32), "lm_head": (16032, 4096, 1)}


# --- head_dim * heads != hidden_size ---------------------------------------------------------------
def test_qwen3_uses_head_dim_not_hidden_over_heads():
    cfg = config(QWEN3_CONFIG)
    assert cfg["head_dim"] * cfg["num_attention_heads"] != cfg["hidden_size"]  # 128 * 32 = 4096 != 2560
    assert shapes(manifest_from_hf_config(cfg, tp=1)) == {
        "qkv": ((32 + 2 * 8) * 128, 2560, 36),   # 6144, not (32 + 16) * 80
        "o": (2560, 32 * 128, 36),                # K = 4096, not 2560
        "gate_up": (2 * 9728, 2560, 36),
        "down": (2560, 9728, 36),
        "lm_head": (151936, 2560, 1),             # 151936 = 64 * 2374: no padding
    }
    assert shapes(manifest_from_hf_config(cfg, tp=4)) == {
        "qkv": ((8 + 2 * 2) * 128, 2560, 36), "o": (2560, 8 * 128, 36), "gate_up": (2 * 9728 // 4, 2560, 36),
        "down": (2560, 9728 // 4, 36), "lm_head": (151936 // 4, 2560, 1)}


# --- defaults and options --------------------------------------------------------------------------
MHA = {"hidden_size": 1024, "intermediate_size": 4096, "num_attention_heads": 16, "vocab_size": 32000,
       "num_hidden_layers": 2}


def test_kv_heads_default_to_heads_and_head_dim_to_hidden_over_heads():
    # No num_key_value_heads (multi-head attention); null head_dim means absent, as some configs write it.
    assert shapes(manifest_from_hf_config({**MHA, "head_dim": None}, tp=2))["qkv"] == ((8 + 2 * 8) * 64, 1024, 2)


def test_vocab_is_padded_to_64_before_the_split():
    cfg = {**MHA, "vocab_size": 32001}  # pads to 32064 = 64 * 501
    assert shapes(manifest_from_hf_config(cfg, tp=1))["lm_head"] == (32064, 1024, 1)
    assert shapes(manifest_from_hf_config(cfg, tp=4))["lm_head"] == (32064 // 4, 1024, 1)


def test_name_from_name_or_path_with_tp_suffix():
    cfg = {**MHA, "_name_or_path": "meta-llama/Llama-3.1-8B"}
    assert manifest_from_hf_config(cfg, tp=1).model == "Llama-3.1-8B"
    assert manifest_from_hf_config(cfg, tp=4).model == "Llama-3.1-8B-tp4"
    assert manifest_from_hf_config({**MHA, "_name_or_path": "/models/My Model v2/"}, tp=1).model == "My-Model-v2"
    assert manifest_from_hf_config(MHA, tp=2).model == "model-tp2"
    # An explicit name is used as given.
    assert manifest_from_hf_config(cfg, tp=4, name="llama8b").model == "llama8b"


def test_gpus_source_and_dtype():
    m = manifest_from_hf_config({**MHA, "torch_dtype": "float16"}, tp=1, gpus=("B200", "H200_SXM"), source="x/c.json")
    assert (m.gpus, m.dtypes, m.source) == (("B200", "H200_SXM"), ("float16",), "x/c.json")
    assert manifest_from_hf_config({**MHA, "dtype": "bfloat16"}, tp=1).dtypes == ("bfloat16",)
    assert manifest_from_hf_config({**MHA, "torch_dtype": "float32"}, tp=1).dtypes == ("bfloat16",)
    assert manifest_from_hf_config(MHA, tp=1).dtypes == ("bfloat16",)


# --- errors ----------------------------------------------------------------------------------------
def test_heads_not_divisible_by_tp():
    assert error_of(config(LLAMA_CONFIG), tp=3) == (
        "cfg.json: num_attention_heads: 32 attention heads cannot be split over tp=3 ranks; tensor parallelism "
        "shards attention by head, so tp must divide 32 (possible tp: 1, 2, 4, 8, 16, 32)")


def test_kv_heads_not_divisible_by_tp():
    cfg = {**MHA, "num_attention_heads": 24, "num_key_value_heads": 6, "hidden_size": 1536}
    assert error_of(cfg, tp=4) == (
        "cfg.json: num_key_value_heads: 6 KV heads cannot be split over tp=4 ranks; "
        "tp must divide 6, or be a multiple of it (then each KV head is replicated)")


def test_kv_heads_not_replicable_over_tp():
    cfg = {**MHA, "num_attention_heads": 24, "num_key_value_heads": 3, "hidden_size": 1536}
    assert error_of(cfg, tp=8) == (
        "cfg.json: num_key_value_heads: 3 KV heads cannot be replicated evenly over tp=8 ranks; "
        "when tp exceeds the KV heads it must be a multiple of 3")


def test_intermediate_not_divisible_by_tp():
    assert error_of({**MHA, "intermediate_size": 4100}, tp=8) == (
        "cfg.json: intermediate_size: 4100 cannot be split over tp=8 ranks; the MLP is sharded along it, "
        "so tp must divide 4100 (possible tp: 1, 2, 4, 5, 10, 20, 25, 41, 50, ...)")


def test_padded_vocab_not_divisible_by_tp():
    cfg = {**MHA, "num_attention_heads": 48, "hidden_size": 6144, "intermediate_size": 96 * 128}
    assert error_of(cfg, tp=48) == (
        "cfg.json: vocab_size: 32000 (padded to 32000, a multiple of 64, as vLLM does) cannot be split over "
        "tp=48 ranks; vLLM's vocab-parallel LM head needs tp to divide 32000")


def test_missing_config_field():
    cfg = dict(MHA)
    del cfg["hidden_size"]
    assert error_of(cfg, tp=1) == (
        "cfg.json: hidden_size: missing from the config; aotgemm reads dense decoder-only transformer configs "
        "(Llama, Mistral, Qwen, Gemma style)")


def test_bad_config_field_type():
    assert error_of({**MHA, "num_hidden_layers": True}, tp=1) == (
        "cfg.json: num_hidden_layers: expected a positive integer, got True")
    assert error_of({**MHA, "vocab_size": "32000"}, tp=1) == (
        "cfg.json: vocab_size: expected a positive integer, got '32000'")


def test_bad_tp():
    assert error_of(MHA, tp=0) == "cfg.json: tp: must be a positive integer, got 0"


def test_result_goes_through_the_manifest_validator():
    # hidden 1020 is not a multiple of 8: the same alignment rule as a manifest file, naming the config.
    cfg = {**MHA, "hidden_size": 1020, "head_dim": 64}
    assert error_of(cfg, tp=1).startswith("cfg.json: layers[0].k: 1020 is not a multiple of 8; bfloat16 GEMMs need")
    assert error_of(MHA, tp=1, gpus=("H100",)).startswith("cfg.json: build.gpus[0]: unknown GPU model 'H100';")
    assert error_of(MHA, tp=1, name="my model") == (
        "cfg.json: model.name: 'my model' is not a valid model name; use only letters, digits, '_', '.' and '-'")


# --- the CLI ---------------------------------------------------------------------------------------
def test_cli_from_hf_prints_a_manifest():
    result = CliRunner().invoke(main, ["manifest", "from-hf", str(LLAMA_CONFIG), "--tp", "8",
                                       "--gpu", "B200", "--gpu", "H100_SXM", "--name", "llama-3.1-8b-tp8"])
    assert result.exit_code == 0, result.output
    m = parse_manifest(result.stdout, "stdout")
    assert m == Manifest(
        model="llama-3.1-8b-tp8", gpus=("B200", "H100_SXM"), dtypes=("bfloat16",), tp=8, source=str(LLAMA_CONFIG),
        layers=(LayerSpec("qkv", 768, 4096, 32), LayerSpec("o", 4096, 512, 32, "residual_add"),
                LayerSpec("gate_up", 3584, 4096, 32, "swiglu"), LayerSpec("down", 4096, 1792, 32, "residual_add"),
                LayerSpec("lm_head", 16032, 4096, 1)))


def test_cli_from_hf_writes_a_file_that_check_accepts(tmp_path):
    out = tmp_path / "llama.toml"
    runner = CliRunner()
    result = runner.invoke(main, ["manifest", "from-hf", str(LLAMA_CONFIG), "--no-fuse", "-o", str(out)])
    assert result.exit_code == 0, result.output
    assert load_manifest(out).layers == load_manifest(REPO / "manifests" / "llama-3.1-8b.toml").layers
    result = runner.invoke(main, ["manifest", "check", str(out), str(REPO / "manifests" / "llama-3.1-8b.toml")])
    assert result.exit_code == 0, result.output
    assert result.stdout == (f"{out}: OK: llama-3.1-8b, 5 layer(s), 14 bucket(s)\n"
                             f"{REPO / 'manifests' / 'llama-3.1-8b.toml'}: OK: llama-3.1-8b, 5 layer(s), 14 bucket(s)\n")


def test_cli_from_hf_reports_a_bad_tp():
    result = CliRunner().invoke(main, ["manifest", "from-hf", str(LLAMA_CONFIG), "--tp", "3"])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        f"aotgemm: error: {LLAMA_CONFIG}: num_attention_heads: 32 attention heads cannot be split over tp=3 ranks; "
        "tensor parallelism shards attention by head, so tp must divide 32 (possible tp: 1, 2, 4, 8, 16, 32)\n")


def test_cli_check_reports_a_bad_manifest(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[model]\nname = "m"\n[build]\ngpus = ["B200"]\ndtypes = ["bfloat16"]\n')
    result = CliRunner().invoke(main, ["manifest", "check", str(bad)])
    assert result.exit_code == 1
    assert result.stderr == (f"aotgemm: error: {bad}: layers: required key is missing; "
                             "add at least one [[layers]] table\n")


@pytest.mark.parametrize("content, phrase", [
    (b'{"hidden_size": 4096,\n "vocab_size": }\n', "line 2, column 16: not valid JSON (Expecting value)"),
    (b"", "line 1, column 1: not valid JSON (Expecting value)"),
    (b'{"a": "\xff"}', "not UTF-8 text (byte 7)"),
])
def test_cli_from_hf_names_the_file_when_it_is_not_json(tmp_path, content, phrase):
    bad = tmp_path / "config.json"
    bad.write_bytes(content)
    result = CliRunner().invoke(main, ["manifest", "from-hf", str(bad)])
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == f"aotgemm: error: {bad}: {phrase}; expected a Hugging Face config.json\n"


def test_from_hf_file_unreadable_and_not_an_object(tmp_path):
    from aotgemm.hf import manifest_from_hf_file

    with pytest.raises(ManifestError, match=r"no config\.json in this folder; pass a model's config\.json or the folder "):
        manifest_from_hf_file(tmp_path, tp=1)
    (tmp_path / "list.json").write_text("[1, 2]")
    with pytest.raises(ManifestError, match=r"list\.json: expected a JSON object \(a config\.json\), got list$"):
        manifest_from_hf_file(tmp_path / "list.json", tp=1)
    m = manifest_from_hf_file(LLAMA_CONFIG, tp=2)
    assert m.source == str(LLAMA_CONFIG) and m.tp == 2


# --- fused epilogues -------------------------------------------------------------------------------
def test_from_hf_fuses_swiglu_and_residual_add_by_default():
    m = manifest_from_hf_config(config(LLAMA_CONFIG), tp=2)
    assert {layer.name: layer.epilogue for layer in m.layers} == {
        "qkv": "identity", "o": "residual_add", "gate_up": "swiglu", "down": "residual_add", "lm_head": "identity"}
    # swiglu halves the output: gate_up's output is the down projection's input
    gate_up, down = m.layers[2], m.layers[3]
    assert gate_up.problem("bfloat16").n_out == down.k == 14336 // 2
    plain = manifest_from_hf_config(config(LLAMA_CONFIG), tp=2, fuse=False)
    assert all(layer.epilogue == "identity" for layer in plain.layers)
    assert shapes(plain) == shapes(m)


def test_shipped_fused_manifest_is_what_from_hf_writes():
    shipped = load_manifest(REPO / "manifests" / "llama-3.1-8b-fused.toml")
    m = manifest_from_hf_config(config(LLAMA_CONFIG), tp=1, name="llama-3.1-8b-fused",
                                gpus=("H100_SXM", "H200_SXM", "B200"))
    assert (shipped.model, shipped.gpus, shipped.dtypes, shipped.m_buckets, shipped.layers) == (
        m.model, m.gpus, m.dtypes, m.m_buckets, m.layers)
    assert shipped.layers != load_manifest(REPO / "manifests" / "llama-3.1-8b.toml").layers


def test_shipped_gemma_manifest_is_what_from_hf_writes():
    """Gemma 2 9B: gate_up geglu; o and down plain (its decoder normalises their outputs before the residual add)."""
    shipped = load_manifest(REPO / "manifests" / "gemma-2-9b-fused.toml")
    m = manifest_from_hf_file(REPO / "examples" / "hf" / "gemma-2-9b-config.json", tp=1, name="gemma-2-9b-fused",
                              gpus=("H100_SXM", "H200_SXM", "B200"))
    assert (shipped.model, shipped.gpus, shipped.dtypes, shipped.m_buckets, shipped.layers) == (
        m.model, m.gpus, m.dtypes, m.m_buckets, m.layers)
    assert [(layer.name, layer.n, layer.k, layer.epilogue) for layer in shipped.layers] == [
        ("qkv", 8192, 3584, "identity"), ("o", 3584, 4096, "identity"), ("gate_up", 28672, 3584, "geglu"),
        ("down", 3584, 14336, "identity"), ("lm_head", 256000, 3584, "identity")]


def test_cli_from_hf_no_fuse_writes_plain_layers():
    fused = CliRunner().invoke(main, ["manifest", "from-hf", str(LLAMA_CONFIG)])
    plain = CliRunner().invoke(main, ["manifest", "from-hf", str(LLAMA_CONFIG), "--no-fuse"])
    assert fused.exit_code == plain.exit_code == 0, fused.output + plain.output
    assert fused.stdout.count('epilogue = "residual_add"') == 2 and fused.stdout.count('epilogue = "swiglu"') == 1
    assert "epilogue" not in plain.stdout


def test_a_config_file_without_a_model_name_names_the_manifest_after_the_file(tmp_path):
    # the shipped example configs carry no _name_or_path: the manifest is named after the file, or after the
    # folder of a plain config.json, with the tensor-parallel degree
    m = manifest_from_hf_file(REPO / "examples" / "hf" / "qwen2.5-32b-config.json", tp=4)
    assert m.model == "qwen2.5-32b-tp4"
    folder = tmp_path / "Qwen3-4B"
    folder.mkdir()
    (folder / "config.json").write_text((REPO / "examples" / "hf" / "qwen3-4b-config.json").read_text())
    assert manifest_from_hf_file(folder / "config.json", tp=1).model == "Qwen3-4B"
    assert manifest_from_hf_file(folder / "config.json", tp=1, name="mine").model == "mine"


def test_a_model_folder_is_read_through_its_config_json(tmp_path):
    folder = tmp_path / "Qwen3-4B"
    folder.mkdir()
    (folder / "config.json").write_text((REPO / "examples" / "hf" / "qwen3-4b-config.json").read_text())
    r = CliRunner().invoke(main, ["manifest", "from-hf", str(folder)])
    assert r.exit_code == 0, r.output
    m = parse_manifest(r.stdout, "from-hf")
    assert (m.model, m.source) == ("Qwen3-4B", str(folder / "config.json"))
    assert m.layers == manifest_from_hf_file(folder / "config.json", tp=1).layers
    (folder / "config.json").unlink()
    r = CliRunner().invoke(main, ["manifest", "from-hf", str(folder)])
    assert r.exit_code == 1 and r.output.strip().splitlines() == [
        f"aotgemm: error: {folder}: no config.json in this folder; pass a model's config.json or the folder that holds it"]


def test_cli_from_hf_sets_m_buckets(tmp_path):
    out = tmp_path / "m.toml"
    r = CliRunner().invoke(main, ["manifest", "from-hf", str(LLAMA_CONFIG), "--m-bucket", "3072", "--m-bucket", "1",
                                  "--m-bucket", "1536", "--m-bucket", "1536", "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert load_manifest(out).m_buckets == (1, 1536, 3072)  # sorted, once each
    default = CliRunner().invoke(main, ["manifest", "from-hf", str(LLAMA_CONFIG)])
    assert "m_buckets = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096, 8192]" in default.stdout
    bad = CliRunner().invoke(main, ["manifest", "from-hf", str(LLAMA_CONFIG), "--m-bucket", "0"])
    assert bad.exit_code != 0 and "--m-bucket" in bad.output


# --- other configs: multimodal wrappers, GELU MLPs, and architectures from-hf refuses ---------------
def test_a_multimodal_config_is_read_from_its_text_config():
    """Gemma 3 / Mistral 3 / Llama 4 files keep the language model in text_config; the outer config names it."""
    text = {k: v for k, v in config(LLAMA_CONFIG).items() if k not in ("_name_or_path", "torch_dtype", "dtype")}
    outer = {"_name_or_path": "org/vlm", "torch_dtype": "float16", "vision_config": {"hidden_size": 1152},
             "text_config": text}
    m = manifest_from_hf_config(outer, tp=2)
    assert shapes(m) == shapes(manifest_from_hf_config(config(LLAMA_CONFIG), tp=2))
    assert (m.model, m.dtypes) == ("vlm-tp2", ("float16",))
    del text["num_hidden_layers"]
    assert error_of(outer, tp=1) == (
        "cfg.json: text_config: num_hidden_layers: missing from the config; aotgemm reads dense decoder-only "
        "transformer configs (Llama, Mistral, Qwen, Gemma style)")


@pytest.mark.parametrize("acts, gate_up", [
    ({"hidden_act": "silu"}, "swiglu"), ({"hidden_act": "SiLU"}, "swiglu"), ({"hidden_act": "swish"}, "swiglu"),
    ({"hidden_activation": "gelu_pytorch_tanh"}, "geglu"), ({"hidden_act": "gelu_new"}, "geglu"),
    ({"hidden_act": "gelu"}, "identity"), ({"hidden_act": "relu"}, "identity"), ({}, "swiglu"),
    # Gemma 1's config.json: hidden_act "gelu" meaning the tanh form (transformers' GemmaConfig reads it so)
    ({"hidden_act": "gelu", "model_type": "gemma"}, "geglu"),
    ({"hidden_act": "gelu", "hidden_activation": "gelu_pytorch_tanh"}, "geglu")])
def test_gate_up_has_the_gated_epilogue_of_the_mlps_activation(acts, gate_up):
    cfg = {k: v for k, v in config(LLAMA_CONFIG).items() if k != "hidden_act"} | acts
    layers = {layer.name: layer.epilogue for layer in manifest_from_hf_config(cfg, tp=1).layers}
    assert layers["gate_up"] == gate_up and layers["down"] == "residual_add"
    plain = {layer.name: layer.epilogue for layer in manifest_from_hf_config(cfg, tp=1, fuse=False).layers}
    assert plain["gate_up"] == "identity"


def test_gemma_mlps_are_geglu_and_post_norm_models_add_no_residual_in_a_gemm():
    """Gemma 1 (hidden_act "gelu", meaning the tanh form) adds the residual to o's and down's outputs; Gemma 2 and
    3 (and OLMo 2) normalise those outputs first, so their o and down are plain GEMMs; all Gemmas' gate_up is geglu.
    A Gemma 3 config keeps its language model (model_type gemma3_text) in text_config."""
    gemma = {**config(LLAMA_CONFIG), "model_type": "gemma", "hidden_act": "gelu"}
    gemma2 = {**config(LLAMA_CONFIG), "model_type": "gemma2", "hidden_activation": "gelu_pytorch_tanh"}
    gemma3 = {"model_type": "gemma3", "_name_or_path": "google/gemma-3-x",
              "text_config": {**gemma2, "model_type": "gemma3_text"}}
    olmo2 = {**config(LLAMA_CONFIG), "model_type": "olmo2"}
    epilogues = lambda c: {layer.name: layer.epilogue for layer in manifest_from_hf_config(c, tp=1).layers}  # noqa: E731
    assert epilogues(gemma) == {"qkv": "identity", "o": "residual_add", "gate_up": "geglu", "down": "residual_add",
                                "lm_head": "identity"}
    for post_norm in (gemma2, gemma3):
        assert epilogues(post_norm) == {"qkv": "identity", "o": "identity", "gate_up": "geglu", "down": "identity",
                                        "lm_head": "identity"}
    assert epilogues(olmo2)["o"] == epilogues(olmo2)["down"] == "identity" and epilogues(olmo2)["gate_up"] == "swiglu"


def test_biased_projections_get_the_bias_epilogue():
    """A layer whose projections transformers builds with a bias gets `bias` (the residual and gated folds take
    bias-free projections only): the Qwen2 family's q/k/v whatever its config says (Qwen2.5-32B's shipped config
    has no attention_bias key), q/k/v and o with attention_bias, gate_up and down with mlp_bias; --no-fuse: plain."""
    epilogues = lambda c, **kw: tuple(layer.epilogue for layer in manifest_from_hf_config(c, tp=1, **kw).layers)  # noqa: E731
    qwen25 = config(REPO / "examples" / "hf" / "qwen2.5-32b-config.json")
    assert "attention_bias" not in qwen25 and qwen25["model_type"] == "qwen2"
    assert epilogues(qwen25) == ("bias", "residual_add", "swiglu", "residual_add", "identity")
    vl = {"model_type": "qwen2_5_vl", "_name_or_path": "Qwen/Qwen2.5-VL-7B-Instruct",
          "text_config": {**qwen25, "model_type": "qwen2_5_vl_text"}}
    assert epilogues(vl)[:2] == ("bias", "residual_add")
    llama = config(LLAMA_CONFIG)
    assert epilogues(llama)[:2] == ("identity", "residual_add")
    assert epilogues({**llama, "attention_bias": True}) == ("bias", "bias", "swiglu", "residual_add", "identity")
    assert epilogues({**llama, "mlp_bias": True}) == ("identity", "residual_add", "bias", "bias", "identity")
    assert epilogues({**llama, "attention_bias": None}) == epilogues(llama)  # null: transformers' default
    # Qwen2's o_proj has no bias even where a config sets attention_bias (transformers ignores it there)
    assert epilogues({**qwen25, "attention_bias": True})[:2] == ("bias", "residual_add")
    assert set(epilogues({**llama, "attention_bias": True, "mlp_bias": True}, fuse=False)) == {"identity"}
    assert error_of({**MHA, "attention_bias": "yes"}, tp=1) == (
        "cfg.json: attention_bias: expected true or false, got 'yes'")


def test_bad_activation_field():
    assert error_of({**MHA, "hidden_act": ["silu"]}, tp=1) == (
        "cfg.json: hidden_act: expected an activation name, got ['silu']")


@pytest.mark.parametrize("key, value, what", [
    ("num_local_experts", 8, "8 experts: a mixture-of-experts model"),
    ("num_experts", 60, "60 experts: a mixture-of-experts model"),
    ("n_routed_experts", 256, "256 routed experts: a mixture-of-experts model"),
    ("kv_lora_rank", 512, "512 the latent rank of multi-head latent attention")])
def test_moe_and_mla_configs_are_refused(key, value, what):
    assert error_of({**MHA, key: value}, tp=1) == (
        f"cfg.json: {key}: {what}, whose GEMMs are not a dense block's; manifest from-hf reads dense "
        "decoder-only configs (Llama, Mistral, Qwen, Gemma style): write the manifest's layers by hand "
        "(docs/manifest-format.md)")
    assert error_of({"text_config": {**MHA, key: value}}, tp=1).startswith(f"cfg.json: text_config: {key}: ")
    manifest_from_hf_config({**MHA, key: None}, tp=1)  # null or 0: a dense config's placeholder
    manifest_from_hf_config({**MHA, key: 0}, tp=1)


# --- fp8 ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("stem, config_file, tp", [
    ("llama-3.1-8b", "llama-3.1-8b-config.json", 1), ("llama-3.1-70b-tp8", "llama-3.1-70b-config.json", 8),
    ("qwen2.5-32b-tp4", "qwen2.5-32b-config.json", 4), ("qwen3-4b-tp1", "qwen3-4b-config.json", 1)])
@pytest.mark.parametrize("fp8, suffix", [("tensor", "fp8"), ("rowwise", "fp8-rowwise")])
def test_from_hf_fp8_writes_the_shipped_fp8_manifests(monkeypatch, stem, config_file, tp, fp8, suffix):
    """`--fp8 SCALES` lists the layers as e4m3 W8A8 GEMMs with those scales, all but the LM head, no other epilogue,
    the name suffixed: the shipped fp8 manifests, from the example configs (Llama-3.1-8B's names its HF repo as
    its source, written by hand)."""
    monkeypatch.chdir(REPO)
    r = CliRunner().invoke(main, ["manifest", "from-hf", f"examples/hf/{config_file}", "--tp", str(tp),
                                  "--gpu", "H100_SXM", "--gpu", "H200_SXM", "--fp8", fp8])
    assert r.exit_code == 0, r.output
    made, shipped = parse_manifest(r.stdout, "from-hf"), load_manifest(REPO / "manifests" / f"{stem}-{suffix}.toml")
    same = ("model", "gpus", "dtypes", "m_buckets", "tp", "scales", "layers")
    assert {f: getattr(made, f) for f in same} == {f: getattr(shipped, f) for f in same}
    assert made.source == (shipped.source if stem != "llama-3.1-8b" else f"examples/hf/{config_file}")


def _quantized(qc) -> dict:
    return {**config(LLAMA_CONFIG), "_name_or_path": "org/m-FP8", "quantization_config": qc}


def _compressed_tensors(weights: dict, activations: dict | None) -> dict:
    group = {"targets": ["Linear"], "weights": {"type": "float", "num_bits": 8, **weights}}
    if activations is not None:
        group["input_activations"] = {"type": "float", "num_bits": 8, **activations}
    return {"quant_method": "compressed-tensors", "config_groups": {"group_0": group}, "ignore": ["lm_head"]}


@pytest.mark.parametrize("qc, scales", [
    # RedHat/neuralmagic FP8-Dynamic: per-channel weights, per-token activations quantized on the fly
    (_compressed_tensors({"strategy": "channel"}, {"strategy": "token", "dynamic": True}), "rowwise"),
    (_compressed_tensors({"strategy": "tensor"}, {"strategy": "tensor", "dynamic": False}), "tensor"),
    (_compressed_tensors({"strategy": "channel"}, {"strategy": "tensor", "dynamic": False}), "row"),
    ({"quant_method": "fbgemm_fp8", "activation_scale_ub": 1200.0}, "rowwise"),
    ({"quant_method": "modelopt", "quant_algo": "FP8"}, "tensor")])
def test_a_checkpoints_fp8_scheme_gives_its_scales(qc, scales):
    m = manifest_from_hf_config(_quantized(qc), tp=1)
    assert (m.dtypes, m.scales, m.model) == (("float8_e4m3fn",), scales, "m-FP8")  # its own name, no suffix
    assert [layer.name for layer in m.layers] == ["qkv", "o", "gate_up", "down"]
    assert {layer.epilogue for layer in m.layers} == {"identity"}
    # a multimodal checkpoint holds its quantization_config beside text_config
    vlm = {"_name_or_path": "org/vlm-FP8", "quantization_config": qc, "text_config": config(LLAMA_CONFIG)}
    assert manifest_from_hf_config(vlm, tp=1).scales == scales


@pytest.mark.parametrize("qc, what", [
    ({"quant_method": "fp8", "activation_scheme": "dynamic", "weight_block_size": [128, 128]},
     "quant_method 'fp8' with weight_block_size [128, 128]"),
    ({"quant_method": "awq", "bits": 4}, "quant_method 'awq'"),
    (_compressed_tensors({"strategy": "channel"}, None), "quant_method 'compressed-tensors'"),  # W8A16
    (_compressed_tensors({"strategy": "block", "block_structure": [128, 128]}, {"strategy": "group"}),
     "quant_method 'compressed-tensors'"),
    (_compressed_tensors({"strategy": "channel", "num_bits": 4, "type": "int"}, {"strategy": "token"}),
     "quant_method 'compressed-tensors'")])
def test_a_quantization_no_scale_epilogue_computes_is_refused_unless_fp8_is_named(qc, what):
    assert error_of(_quantized(qc), tp=1) == (
        f"cfg.json: quantization_config: {what} is no scheme aotgemm builds (bf16, fp16, or fp8 e4m3 W8A8 with "
        "per-tensor, per-channel or per-token scales); pass --fp8 mx|row|rowwise|tensor to list its layers for the "
        "fp8 recipe you serve it with")
    named = manifest_from_hf_config(_quantized(qc), tp=1, fp8="rowwise")
    assert (named.scales, named.model) == ("rowwise", "m-FP8-fp8-rowwise")


def test_bad_fp8_arguments():
    assert error_of(config(LLAMA_CONFIG), tp=1, fp8="channel") == (
        "cfg.json: fp8: unknown scales 'channel'; one of mx, row, rowwise, tensor")
    assert error_of(_quantized([1]), tp=1) == "cfg.json: quantization_config: expected an object, got [1]"
    bad = CliRunner().invoke(main, ["manifest", "from-hf", str(LLAMA_CONFIG), "--fp8", "channel"])
    assert bad.exit_code != 0 and "--fp8" in bad.output
