"""CosyVoice3's engine process: run by narration.engines.cosyvoice3_engine with the interpreter
of CosyVoice3's own environment, so it imports nothing of narration (only the standard library,
numpy, torch and the CosyVoice code on --source / --matcha). The protocol is
narration.engines.external's: one JSON object per line on stdin and stdout, audio through files.

    python cosyvoice3_child.py --source DIR --matcha DIR --model-dir DIR [--device auto|cpu|cuda]
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from typing import Any, TextIO

SYSTEM_PROMPT = "You are a helpful assistant."
END_OF_PROMPT = "<|endofprompt|>"  # CosyVoice3's LLM asserts it is in the prompt text


def one_line(exc: BaseException) -> str:
    return " ".join(f"{type(exc).__name__}: {exc}".split())[:400]


def protocol_stream() -> TextIO:
    """Our answers go to the real stdout; anything the model code prints goes to stderr, so a
    stray print can never break a protocol line."""
    stream = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return stream


def zero_shot_prompt(transcript: str) -> str:
    """The prompt text in the form CosyVoice3 was trained on: system part, end-of-prompt
    token, then the clip's exact transcript (a wrong form makes it repeat or babble)."""
    return f"{SYSTEM_PROMPT}{END_OF_PROMPT}{transcript}"


def soundfile_audio_loader() -> None:
    """torchaudio >= 2.9 decodes only through TorchCodec, which needs the system's FFmpeg
    libraries; without them the code's load_wav fails. Where TorchCodec cannot load, put back
    what torchaudio.load did before: a libsndfile decode, float32, (channels, frames)."""
    try:
        import torchcodec.decoders  # noqa: F401
    except (ImportError, OSError, RuntimeError):
        import soundfile
        import torch
        import torchaudio

        def load(uri: Any, *args: Any, **kwargs: Any) -> tuple[Any, int]:
            data, rate = soundfile.read(uri, dtype="float32", always_2d=True)
            return torch.from_numpy(data.T.copy()), rate

        torchaudio.load = load


def keep_thread_errors(errors: list[BaseException]) -> None:
    """Its LLM runs in a thread whose exceptions are never raised where it is called (a
    failure would surface later as a misleading vocoder error): keep them to report."""
    import threading

    def hook(args: threading.ExceptHookArgs) -> None:
        errors.append(args.exc_value or RuntimeError(str(args.exc_type)))

    threading.excepthook = hook


def segment_seed(seed: int, text: str) -> int:
    """A segment's own seed: the job's seed and the text, so two segments never share the
    same random draws (with the job's seed alone every segment would sample alike)."""
    import hashlib

    digest = hashlib.sha256(f"{seed}\0{text}".encode()).digest()
    return int.from_bytes(digest[:8], "little") >> 1  # torch takes a 63-bit seed


def instruct_prompt(instruct: str) -> str:
    return f"{SYSTEM_PROMPT} {instruct.strip()}{END_OF_PROMPT}"


class Renderer:
    def __init__(self, model: Any) -> None:
        self.model = model
        self.registered: set[str] = set()

    def _speaker(self, voice: dict[str, Any]) -> str:
        """Each voice's prompt is registered once (add_zero_shot_spk) and then used by id:
        without that the clip would be processed again for every segment."""
        sha = str(voice["prompt_sha256"])
        if sha not in self.registered:
            self.model.add_zero_shot_spk(
                zero_shot_prompt(voice["prompt_text"]), voice["prompt_wav"], sha
            )
            self.registered.add(sha)
        return sha

    def render(self, item: dict[str, Any]) -> Any:
        import torch

        voice, text = item["voice"], item["text"]
        # Its sampling draws from torch's default generators (CPU and CUDA), here reset for
        # each segment: the audio then depends on this segment alone, not on what came before.
        torch.manual_seed(segment_seed(int(item["seed"]), text))
        # Our text is normalised already (text_frontend=False: its own frontend would read
        # "$5.50" as "$five.fifty" without wetext), and split to a comfortable length.
        if voice.get("instruct"):
            # No speaker id here: with one, the instruction is silently replaced by the
            # stored prompt's text.
            chunks = self.model.inference_instruct2(
                text, instruct_prompt(voice["instruct"]), voice["prompt_wav"],
                stream=False, text_frontend=False,
            )  # fmt: skip
        else:
            chunks = self.model.inference_zero_shot(
                text, zero_shot_prompt(voice["prompt_text"]), voice["prompt_wav"],
                zero_shot_spk_id=self._speaker(voice), stream=False, text_frontend=False,
            )  # fmt: skip
        pieces = [chunk["tts_speech"].reshape(-1) for chunk in chunks]
        audio = torch.cat(pieces) if pieces else torch.zeros(0)
        return audio.float().cpu().numpy()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--source", required=True)
    parser.add_argument("--matcha", required=True)
    parser.add_argument("--model-dir", required=True)
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    out = protocol_stream()
    os.environ.setdefault("TQDM_DISABLE", "1")  # its progress bars, one per segment
    if args.device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # its code moves to CUDA whenever it sees one
    sys.path[:0] = [args.source, args.matcha]
    errors: list[BaseException] = []
    try:
        if not os.path.isfile(os.path.join(args.model_dir, "cosyvoice3.yaml")):
            raise FileNotFoundError(f"{args.model_dir}: no cosyvoice3.yaml")  # else: a hub fetch
        soundfile_audio_loader()
        keep_thread_errors(errors)
        from cosyvoice.cli.cosyvoice import AutoModel

        model = AutoModel(model_dir=args.model_dir)
        logging.getLogger().setLevel(logging.WARNING)  # its file_utils sets the root to DEBUG
        renderer = Renderer(model)
        ready = {"ready": True, "sample_rate": int(model.sample_rate), "pid": os.getpid()}
        out.write(json.dumps(ready) + "\n")
    except Exception as exc:
        out.write(json.dumps({"ready": False, "error": one_line(exc)}) + "\n")
        return
    for line in sys.stdin:
        message = json.loads(line)
        reply: dict[str, Any] = {"id": message.get("id")}
        try:
            files = []
            for number, item in enumerate(message["items"]):
                path = os.path.join(message["dir"], f"{message['id']}-{number}.f32")
                audio = renderer.render(item)
                if errors:
                    raise errors.pop()
                audio.astype("float32").tofile(path)
                files.append(path)
            reply.update(ok=True, files=files, speakers=sorted(renderer.registered))
        except Exception as exc:
            memory = type(exc).__name__ == "OutOfMemoryError" or "out of memory" in str(exc)
            reply.update(ok=False, error=one_line(exc), out_of_memory=memory)
        out.write(json.dumps(reply) + "\n")


if __name__ == "__main__":
    main()
