"""The CPU engine: SmolVLM2 on OpenVINO, prepared once from the published ONNX files or the weights.

- `backend`: `OpenVINOBackend`, the engine itself (torch-free preprocessing, the token loop);
- `published`: preparing the published ONNX files (no PyTorch), with `onnx_rewrite` (8-bit
  products kept 8-bit) and `onnx_contrib` (ONNX Runtime's contrib operators);
- `convert`: converting from the PyTorch weights (the `torch` extra);
- `graph`: the graph passes both share; `steps`: progress and the manifest;
- `python -m app.inference.openvino`: a preparation in its own process.
"""
