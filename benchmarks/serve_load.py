"""Many users on one server: 16 clients at once, plain then streamed; p50/p95 latency and errors.

    python benchmarks/serve_load.py [--clients 16] [--requests 4] [--tokens 20] [--json out.json]
    python benchmarks/serve_load.py --base-url http://127.0.0.1:8081/v1 --clients 8   # any server

Without --base-url it starts `smolsight serve` (the command users run, in its own process, on
127.0.0.1) with the 500M-architecture random model (`smolsight bench` builds it once) on the
default engine, waits for /health, runs the load, and stops the server. Each client sends the
sample photograph with a question, `--requests` times one after another; the run is bounded
in requests and time (`app/devtools/serve_load.py`). Loopback only: nothing leaves the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import httpx

from app.devtools.serve_load import LoadPlan, distinct_pictures, run_load
from app.paths import resource_file


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(model: Path, backend: str, queue_size: int) -> tuple[subprocess.Popen[bytes], str]:
    """`smolsight serve` on a free loopback port, ready; the process and its API root."""
    port = free_port()
    command = [sys.executable, "-m", "app", "serve", "--model", str(model), "--backend", backend]
    command += ["--port", str(port), "--queue-size", str(queue_size)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server stopped: {server.stderr.read().decode() if server.stderr else ''}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                return server, f"http://127.0.0.1:{port}/v1"
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    server.kill()
    raise SystemExit("the server was not ready within 10 minutes")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base-url", help="an OpenAI-compatible API root (default: start smolsight serve)")
    parser.add_argument("--model", type=Path, help="the started server's model (default: 500M random)")
    parser.add_argument("--backend", default="auto", help="engine of the started server")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--requests", type=int, default=4, help="per client, one after another")
    parser.add_argument("--tokens", type=int, default=20)
    parser.add_argument("--queue-size", type=int, default=4, help="the started server's queue per client")
    parser.add_argument("--api-key", default=os.environ.get("SMOLSIGHT_LOAD_API_KEY"))
    parser.add_argument(
        "--one-address", action="store_true", help="send every client from 127.0.0.1 (as behind one proxy)"
    )
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()

    server = None
    base_url = args.base_url
    if base_url is None:
        from app.commands.bench_measure import real_size_model

        server, base_url = start_server(args.model or real_size_model(), args.backend, args.queue_size)
    # A different picture for every request of both runs: nothing answered from a cache.
    pictures = distinct_pictures(resource_file("sample.jpg").read_bytes(), 2 * args.clients * args.requests)
    # 16 desks, 16 addresses: the server takes turns by address (Linux routes 127.0.0.0/8 here).
    loopback = (urlsplit(base_url).hostname or "").startswith("127.")
    spread = loopback and sys.platform == "linux" and not args.one_address
    addresses = tuple(f"127.0.0.{n + 2}" for n in range(args.clients)) if spread else ()
    rows = []
    try:
        for stream in (False, True):
            plan = LoadPlan(
                clients=args.clients,
                requests=args.requests,
                stream=stream,
                max_tokens=args.tokens,
                api_keys=(args.api_key,) if args.api_key else (),
                local_addresses=addresses,
            )
            half = pictures[len(pictures) // 2 :] if stream else pictures[: len(pictures) // 2]
            rows.append(run_load(base_url, half, plan).summary())
    finally:
        if server is not None:
            server.terminate()
            server.wait(30)
    print(f"{base_url}: {args.clients} clients × {args.requests} requests, {args.tokens}-token answers")
    print("| mode | answered | 429 | errors | p50 s | p95 s | max s | first chunk p50/p95 s | answers/s |")
    print("|---|---|---|---|---|---|---|---|---|")
    for row in rows:
        first = (
            f"{row['first_event_p50_s']:.2f} / {row['first_event_p95_s']:.2f}"
            if row["first_event_p50_s"] is not None
            else "–"
        )
        print(
            f"| {'streamed' if row['stream'] else 'plain'} | {row['answered']}/{row['requests']} "
            f"| {row['busy_429']} | {row['errors']} | {row['p50_s']:.2f} | {row['p95_s']:.2f} "
            f"| {row['max_s']:.2f} | {first} | {row['answers_per_s']:.2f} |"
        )
        if row["error_examples"]:
            print(f"  errors, e.g.: {row['error_examples']}")
    if args.json:
        args.json.write_text(json.dumps({"base_url": base_url, "runs": rows}, indent=2), encoding="utf-8")


if __name__ == "__main__":
    main()
