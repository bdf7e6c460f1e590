"""What our ChatTTS engine relies on, proven against the real library (chattts 0.2.5) code.

The weights are random ones that tests/chattts_weights.py writes in the library's real file
layout, so nothing here says anything about how the audio *sounds*: it pins the API contract
(loading, hash check, one array per text, order, rate, seeding, speakers, parameter handling).

ChatTTS is imported directly on purpose: CI installs the `chattts` extra, and a missing library
must fail this file loudly rather than skip it.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import ChatTTS
import numpy as np
import pytest
import torch
from chattts_weights import SHA256_MAP_NAME, generate_chattts_weights, load_chat, read_sha256_map

TEXTS = [
    "hello there, how are you today.",
    "a short one.",
    "the quick brown fox jumps over the lazy dog, again and again.",
    "ok then.",
]
STEPS = 16  # GPT steps per item; min == max, so every item runs exactly this long
SEED = 7


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("chattts_tiny")
    generate_chattts_weights(folder, size="tiny", seed=0)
    return folder


@pytest.fixture(scope="module")
def chat(weights: Path) -> ChatTTS.Chat:
    return load_chat(weights, device="cpu")


@pytest.fixture(scope="module")
def speakers(chat: ChatTTS.Chat) -> list[str]:
    # sample_random_speaker draws from the *global* torch RNG: seeding it is what makes a voice
    # reproducible.
    out = []
    for seed in (11, 12):
        torch.manual_seed(seed)
        out.append(chat.sample_random_speaker())
    return out


def params(spk: str, seed: int = SEED, **kw) -> ChatTTS.Chat.InferCodeParams:
    # A fresh object per call: the library writes into params (and into the shared default
    # object) when split_text=True, so sharing one across calls leaks state.
    fields = {"max_new_token": STEPS, "min_new_token": STEPS, "show_tqdm": False, **kw}
    return ChatTTS.Chat.InferCodeParams(spk_emb=spk, manual_seed=seed, **fields)


def render(chat: ChatTTS.Chat, texts: list[str], p: ChatTTS.Chat.InferCodeParams) -> list:
    return chat.infer(texts, split_text=False, skip_refine_text=True, params_infer_code=p)


def spectral_distance(a: np.ndarray, b: np.ndarray) -> float:
    """Relative L2 distance of STFT magnitudes (n_fft 1024, hop 256) over the common length.

    infer() deletes every sample with |x| <= 1e-5 anywhere in a clip, so two renders that agree
    to 1e-7 can still differ by a dropped sample, which shifts the rest by one sample. Magnitude
    spectra do not notice a one-sample shift; a sample-wise comparison would.
    """
    n = min(len(a), len(b))
    window = np.hanning(1024).astype(np.float32)

    def mag(x: np.ndarray) -> np.ndarray:
        frames = np.lib.stride_tricks.sliding_window_view(x[:n], 1024)[::256]
        return np.abs(np.fft.rfft(frames * window, axis=-1))

    ma, mb = mag(a), mag(b)
    return float(np.linalg.norm(ma - mb) / np.linalg.norm(mb))


def test_generated_folder_has_the_library_layout_and_hash_keys(weights: Path) -> None:
    stock = ChatTTS.Chat().sha256_map  # the released hashes, from the library's res/
    ours = read_sha256_map(weights)
    assert set(ours) == set(stock)
    assert all(ours[k] != stock[k] for k in ours)  # our files are not the released ones
    assert json.loads((weights / SHA256_MAP_NAME).read_text()) == ours


def test_load_from_custom_folder(chat: ChatTTS.Chat) -> None:
    assert chat.has_loaded(use_decoder=True) and chat.has_loaded(use_decoder=False)
    # The Llama body came from our asset/gpt/config.json (tiny), the rest from Config().
    assert chat.gpt.gpt.config.num_hidden_layers == 2
    assert chat.gpt.gpt.config.hidden_size == chat.config.gpt.hidden_size == 768
    assert chat.tokenizer.len == chat.config.embed.num_text_tokens
    assert next(chat.gpt.gpt.parameters()).dtype == torch.float32


def test_hash_check_is_real(weights: Path, tmp_path: Path) -> None:
    # The library's own map (the released files' hashes) refuses our files ...
    cpu = torch.device("cpu")
    stock = ChatTTS.Chat()
    assert stock.load(source="custom", custom_path=str(weights), device=cpu) is False
    assert not hasattr(stock, "gpt")  # refused before anything was built
    # ... and so does our map with one wrong hash, on the last file the library checks.
    bad = read_sha256_map(weights)
    key = "sha256_asset_tokenizer_tokenizer_json"
    bad[key] = ("0" if bad[key][0] != "0" else "1") + bad[key][1:]
    chat = ChatTTS.Chat()
    chat.sha256_map = bad
    assert chat.load(source="custom", custom_path=str(weights), device=cpu) is False
    # load_chat turns that False into an error (same files, linked, beside the wrong map).
    os.symlink(weights / "asset", tmp_path / "asset")
    (tmp_path / SHA256_MAP_NAME).write_text(json.dumps(bad))
    with pytest.raises(RuntimeError, match="refused"):
        load_chat(tmp_path)


def test_sample_rate_is_24k(chat: ChatTTS.Chat) -> None:
    assert chat.config.vocos.feature_extractor.init_args.sample_rate == 24000
    assert chat.vocos.feature_extractor.mel_spec.sample_rate == 24000  # the loaded module


def test_speakers_are_strings_reproducible_from_the_global_seed(
    chat: ChatTTS.Chat, speakers: list[str]
) -> None:
    assert all(isinstance(s, str) for s in speakers)
    assert speakers[0] != speakers[1]
    torch.manual_seed(11)
    assert chat.sample_random_speaker() == speakers[0]


@pytest.mark.parametrize("who", [0, 1])
def test_batch_gives_one_float32_clip_per_text(
    chat: ChatTTS.Chat, speakers: list[str], who: int
) -> None:
    texts = list(TEXTS)
    p = params(speakers[who])
    before = dict(vars(p))
    wavs = render(chat, texts, p)

    assert isinstance(wavs, list) and len(wavs) == len(TEXTS)
    hop = chat.config.vocos.head.init_args.hop_length
    for w in wavs:
        assert isinstance(w, np.ndarray) and w.dtype == np.float32 and w.ndim == 1
        assert np.isfinite(w).all()
        # Length follows the GPT step count: 2 mel frames per step, `hop` samples per frame
        # (istft "center" gives frames - 1 hops), less the near-zero samples infer() deletes.
        assert 0.95 * (2 * STEPS - 1) * hop <= len(w) <= (2 * STEPS - 1) * hop
    # split_text=False leaves the caller's text list and params untouched.
    assert texts == TEXTS
    assert vars(p) == before


@pytest.mark.parametrize("who", [0, 1])
def test_seed_makes_audio_reproducible(chat: ChatTTS.Chat, speakers: list[str], who: int) -> None:
    first = render(chat, TEXTS, params(speakers[who], seed=SEED))
    again = render(chat, TEXTS, params(speakers[who], seed=SEED))
    other = render(chat, TEXTS, params(speakers[who], seed=SEED + 1))
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not any(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_speakers_sound_different(chat: ChatTTS.Chat, speakers: list[str]) -> None:
    a = render(chat, TEXTS, params(speakers[0]))
    b = render(chat, TEXTS, params(speakers[1]))
    assert not any(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


def test_batch_output_order_matches_input_order(chat: ChatTTS.Chat, speakers: list[str]) -> None:
    """Clip i of a batch is text i's audio.

    Output length does not depend on the text (it is the step count), so length cannot show
    order. Rendering each text alone can: but the seeded sampler draws for the whole batch at
    once, so at the default temperature a clip depends on its batch neighbours. At a near-zero
    temperature sampling is argmax, and a text's clip is its solo render up to float noise.
    """
    greedy = {"temperature": 1e-5}
    batch = render(chat, TEXTS, params(speakers[0], **greedy))
    solo = [render(chat, [t], params(speakers[0], **greedy))[0] for t in TEXTS]
    dist = np.array([[spectral_distance(b, s) for s in solo] for b in batch])
    assert (np.diag(dist) < 0.01).all(), dist
    assert (dist[~np.eye(len(TEXTS), dtype=bool)] > 0.2).all(), dist


def test_split_text_true_is_a_trap(chat: ChatTTS.Chat, speakers: list[str]) -> None:
    # Why the engine always passes split_text=False: the default concatenates the batch into
    # ONE clip and writes a voice sample of the first text into the params object.
    p = params(speakers[0], max_new_token=4, min_new_token=4)
    wavs = chat.infer(list(TEXTS), split_text=True, skip_refine_text=True, params_infer_code=p)
    assert len(wavs) == 1
    assert p.spk_smp is not None and p.txt_smp == TEXTS[0]


def test_a_batch_is_decoded_at_its_longest_length(chat: ChatTTS.Chat, speakers: list[str]) -> None:
    # Private API, on purpose: infer() decodes a batch as one padded tensor, so a clip that
    # ended early comes back as long as the longest, its tail being the decoder's output for
    # zero padding (not silence). Callers must group texts of similar length.
    p = params(speakers[0])
    result = next(chat._infer_code(list(TEXTS), False, chat.device, True, p))
    hiddens = [h.clone() for h in result.hiddens]
    hiddens[1] = hiddens[1][: STEPS // 4]
    wavs = chat._decode_to_wavs(hiddens, True)
    assert wavs.shape[0] == len(TEXTS) and len({len(w) for w in wavs}) == 1
    hop = chat.config.vocos.head.init_args.hop_length
    tail = wavs[1][2 * (STEPS // 4) * hop + 2 * hop :]
    assert np.sqrt(np.mean(tail**2)) > 1e-3


def test_seeded_end_at_the_first_step_drops_the_whole_batch(
    chat: ChatTTS.Chat, speakers: list[str]
) -> None:
    # Why the engine should pass min_new_token >= 1 with a manual_seed: when any item samples
    # the end token at step 0, GPT.generate logs "unexpected end" and, with a seed set, returns
    # without yielding (unseeded, it retries), so infer() gives NO clip for ANY text of the batch.
    # min_new_token masks the end token for that many steps. Forced here by biasing codebook 0's
    # head towards the end token (num_audio_tokens - 1).
    eos = chat.config.gpt.num_audio_tokens - 1
    head = chat.gpt.head_code[0]

    def ends_now(hidden: torch.Tensor) -> torch.Tensor:
        logits = head(hidden).clone()
        logits[..., eos] += 1e4
        return logits

    chat.gpt.head_code[0] = ends_now
    try:
        assert render(chat, TEXTS, params(speakers[0], min_new_token=0)) == []
        wavs = render(chat, TEXTS, params(speakers[0], min_new_token=1))
    finally:
        chat.gpt.head_code[0] = head
    assert len(wavs) == len(TEXTS)
