"""Run inside its own mount namespace (`unshare -rm python full_disk_scenario.py DIR RESULT`):
the real CLI narrates the sample book onto a 12 MB tmpfs mounted at DIR, which fills up; then
the filesystem grows to 400 MB (space freed) and the same command runs again. What happened
is written to RESULT as JSON for the test to judge."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import psutil
from conftest import REPO, SAMPLE_BOOK, narrate_command
from output_checks import check_no_partial_final_files


def narrate(out: Path) -> dict:
    started = time.monotonic()
    process = subprocess.Popen(
        [*narrate_command(), str(SAMPLE_BOOK), "--out", str(out), "--no-cast"],
        cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    children: set[psutil.Process] = set()
    while process.poll() is None and time.monotonic() - started < 180:
        try:
            children |= set(psutil.Process(process.pid).children(recursive=True))
        except psutil.NoSuchProcess:
            break
        time.sleep(0.05)
    if process.poll() is None:
        process.kill()
    stderr = process.communicate()[1]
    elapsed = time.monotonic() - started
    _, alive = psutil.wait_procs(list(children), timeout=10)
    return {
        "returncode": process.returncode,
        "seconds": round(elapsed, 1),
        "stderr": stderr,
        "left_behind": [" ".join(p.cmdline()[:3]) for p in alive if p.is_running()],
    }


def main(folder: Path, result_path: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=12m", "tmpfs", str(folder)], check=True)
    out = folder / "out"
    full = narrate(out)
    try:
        check_no_partial_final_files(out / SAMPLE_BOOK.stem)
        full["partial_files"] = None
    except Exception as exc:  # noqa: BLE001  (reported, judged by the test)
        full["partial_files"] = repr(exc)
    subprocess.run(["mount", "-o", "remount,size=400m", str(folder)], check=True)
    resumed = narrate(out)
    resumed["m4b"] = (out / SAMPLE_BOOK.stem / f"{SAMPLE_BOOK.stem}.m4b").is_file()
    result_path.write_text(json.dumps({"full": full, "resumed": resumed}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
