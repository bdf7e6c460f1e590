"""A stand-in engine child for narration.engines.external's protocol (run as a script with
our own interpreter): tones as long as the text, `kill` in a text kills the process mid-batch
the first time (a marker file remembers), `fail` answers an error, `oom` an out-of-memory."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path

import numpy as np


def main() -> None:
    marker = Path(sys.argv[1])
    print(json.dumps({"ready": True, "sample_rate": 24000, "pid": os.getpid()}), flush=True)
    for line in sys.stdin:
        message = json.loads(line)
        texts = [item["text"] for item in message["items"]]
        if any("kill" in t for t in texts) and not marker.exists():
            marker.write_text(str(os.getpid()))
            os.kill(os.getpid(), signal.SIGKILL)
        if any("fail" in t for t in texts):
            print(json.dumps({"id": message["id"], "ok": False, "error": "bad text"}), flush=True)
            continue
        if any("oom" in t for t in texts):
            reply = {"id": message["id"], "ok": False, "error": "CUDA", "out_of_memory": True}
            print(json.dumps(reply), flush=True)
            continue
        files = []
        for number, item in enumerate(message["items"]):
            path = Path(message["dir"]) / f"{message['id']}-{number}.f32"
            samples = np.full(240 * len(item["text"]), 0.1 + item["seed"], dtype=np.float32)
            samples.tofile(path)
            files.append(str(path))
        print(json.dumps({"id": message["id"], "ok": True, "files": files}), flush=True)


if __name__ == "__main__":
    main()
