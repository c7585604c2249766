"""`smolsight check-model`: what a downloaded model's files are, for a bug report or a manifest.

Every file with its size and SHA-256, and for each ONNX graph its producer, opsets, operator
counts and its inputs and outputs (names, element types, shapes). Nothing is downloaded: a hub
id is looked up in the download cache. `--json FILE` writes the same as a manifest.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from app.commands.flags import CommandParser, options_from
from app.commands.options import CheckModelOptions
from app.exit_codes import ExitCode
from app.inference.model_files import sha256_of
from app.inference.onnx_census import UnreadableGraph, census
from app.inference.published_onnx import FORM_NAMES, PARTS, decoder_form, engine_takes

__all__ = ["describe_files", "run_check_model"]

OPTIONS = CheckModelOptions  # what the flags that are not settings fill


def describe_files(folder: Path) -> dict[str, object]:
    """The manifest: every file's size and SHA-256, and each ONNX graph's census."""
    files = []
    graphs: dict[str, object] = {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and ".cache" not in p.parts):
        name = path.relative_to(folder).as_posix()
        files.append({"path": name, "bytes": path.stat().st_size, "sha256": sha256_of(path)})
        if path.suffix == ".onnx":
            try:
                found = census(path)
            except UnreadableGraph as exc:
                graphs[name] = {"unreadable": str(exc)}
                continue
            graph: dict[str, object] = {
                "producer": found.producer,
                "opsets": found.opsets,
                "operators": dict(sorted(found.operators.items())),
                "inputs": [asdict(p) for p in found.inputs],
                "outputs": [asdict(p) for p in found.outputs],
            }
            if path.name.startswith(PARTS["decoder"]):
                form = decoder_form(dict(found.operators))
                takes, why = engine_takes(form, dict(found.operators))
                graph.update(form=form, cpu_engine_takes_it=takes, cpu_engine=why)
            graphs[name] = graph
    return {"files": files, "graphs": graphs}


def _ports(ports: object) -> str:
    said = []
    for port in ports if isinstance(ports, list) else []:
        said.append(f"{port['name']} {port['type']}[{', '.join(port['shape'])}]")
    return "; ".join(said)


def run_check_model(model: str, json_out: Path | None) -> int:
    """Print the manifest of `model` (and write it as JSON); the exit code."""
    from app.inference.backend import BackendError
    from app.inference.factory import local_folder

    try:
        folder = local_folder(model)
    except BackendError as exc:  # not downloaded, not a folder, or no model of that name
        print(f"smolsight: {exc}", file=sys.stderr)
        return ExitCode.MODEL
    manifest = {"model": model, **describe_files(folder)}
    print(f"Model: {model}")
    for entry in manifest["files"]:  # type: ignore[attr-defined]
        print(f"  {entry['path']}  {entry['bytes'] / 1e6:.1f} MB  sha256 {entry['sha256']}")
    unreadable = 0
    for name, graph in manifest["graphs"].items():  # type: ignore[attr-defined]
        if "unreadable" in graph:
            unreadable += 1
            print(f"\n{name} can't be read: {graph['unreadable']}. Download the model again.")
            continue
        print(f"\n{name} (made by {graph['producer'] or 'an unnamed producer'})")
        if "form" in graph:
            print(f"  form: {FORM_NAMES[graph['form']]}; {graph['cpu_engine']}")
        print("  opsets: " + ", ".join(f"{d} {v}" for d, v in graph["opsets"].items()))
        print("  operators: " + ", ".join(f"{op} {n}" for op, n in graph["operators"].items()))
        print("  inputs: " + _ports(graph["inputs"]))
        print("  outputs: " + _ports(graph["outputs"]))
    if json_out is not None:
        try:
            json_out.write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
        except OSError as exc:
            print(f"smolsight: can't write {json_out}: {exc.strerror or exc}", file=sys.stderr)
            return ExitCode.INPUT
    if unreadable:
        print(f"smolsight: {unreadable} of the model's ONNX files can't be read (above)", file=sys.stderr)
        return ExitCode.INPUT
    return ExitCode.OK


def add_arguments(parser: CommandParser) -> None:
    """Which model, and where to write the record."""
    parser.add_argument("model", nargs="?", help="hub id or folder (default: the CPU engine's SmolVLM2)")
    parser.add_argument("--json", dest="json_out", type=Path, help="also write it here as JSON")


def run(args: argparse.Namespace) -> int:
    """Print a downloaded model's files and its ONNX graphs' census."""
    from app.inference.model_files import default_model

    options = options_from(OPTIONS, args)
    return run_check_model(options.model or default_model("transformers"), options.json_out)
