#!/usr/bin/env python3
"""The peers of `attention-bench`: PyTorch's scaled_dot_product_attention and ONNX Runtime's
`Attention` (opset 23), timed on request on the inputs the Swift benchmark wrote.

A long-lived child of the benchmark, one per run. It speaks JSON lines on stdin/stdout:

- at start it prints {"hello": ..., "python": ..., "peers": {"torch": "2.15.0", ...},
  "missing": {"onnxruntime": "No module named ..."}} — a peer is available when it imports;
  none is required, and a run without any peer is not an error;
- {"op": "load", "shape": {"b", "hq", "hkv", "nq", "nk", "d", "causal"}, "dir": path} reads
  q.f32, k.f32 and v.f32 (little-endian float32, [B, H, N, D]) from `dir`, prepares every
  peer (an ONNX Runtime session per shape), runs each once, writes its output to
  `dir/out-<peer>.f32` and answers {"ok": true, "outputs": {peer: path}, "skipped": {peer: why}};
- {"op": "time", "peer": name, "warmups": w, "runs": r} runs `w` untimed and `r` timed calls
  and answers {"ok": true, "times": [seconds, ...]};
- {"op": "quit"} ends the process (as does the end of stdin).

Every answer to a request that failed is {"ok": false, "error": message}. Both peers run with
2 intra-op threads (torch.set_num_threads, SessionOptions.intra_op_num_threads; ATTENTION_PEER_
THREADS overrides), float32, no gradient.

ONNX Runtime's `Attention` (opset 23) takes 4-D Q [B, Hq, Nq, D], K and V [B, Hkv, Nk, D]; it
supports grouped-query attention (Hq a multiple of Hkv) and `is_causal`, whose alignment is
bottom-right only relative to a `past_key` cache: without one, query i sees keys j <= i
(top-left). The benchmark therefore asks it for causal cases only when Nq == Nk, where both
alignments agree.
"""

import json
import os
import sys
import time

THREADS = int(os.environ.get("ATTENTION_PEER_THREADS", "2"))


def reply(message):
    sys.stdout.write(json.dumps(message) + "\n")
    sys.stdout.flush()


class Peers:
    def __init__(self):
        self.versions = {}
        self.missing = {}
        self.np = None
        self.torch = None
        self.ort = None
        self.onnx = None
        try:
            import numpy as np
            self.np = np
            self.versions["numpy"] = np.__version__
        except ImportError as error:
            self.missing["numpy"] = str(error)
        try:
            import torch
            torch.set_num_threads(THREADS)
            self.torch = torch
            self.versions["torch"] = torch.__version__
        except ImportError as error:
            self.missing["torch"] = str(error)
        try:
            import onnx
            import onnxruntime
            self.onnx = onnx
            self.ort = onnxruntime
            self.versions["onnx"] = onnx.__version__
            self.versions["onnxruntime"] = onnxruntime.__version__
        except ImportError as error:
            self.missing["onnxruntime"] = str(error)
        if self.np is None:
            # Inputs are read with numpy; without it no peer can run.
            for name in ("torch", "onnxruntime"):
                if name not in self.missing:
                    self.missing[name] = "numpy is missing"
            self.torch = self.ort = None
        self.calls = {}

    def available(self):
        names = []
        if self.torch is not None:
            names.append("torch")
        if self.ort is not None:
            names.append("onnxruntime")
        return names

    def load(self, request):
        np = self.np
        shape = request["shape"]
        b, hq, hkv = shape["b"], shape["hq"], shape["hkv"]
        nq, nk, d = shape["nq"], shape["nk"], shape["d"]
        causal = bool(shape.get("causal", False))
        folder = request["dir"]

        def read(name, heads, count):
            data = np.fromfile(os.path.join(folder, name), dtype="<f4")
            return data.reshape(b, heads, count, d)

        q, k, v = read("q.f32", hq, nq), read("k.f32", hkv, nk), read("v.f32", hkv, nk)
        self.calls = {}
        outputs, skipped = {}, {}
        if self.torch is not None:
            torch = self.torch
            tq, tk, tv = (torch.from_numpy(np.ascontiguousarray(x)) for x in (q, k, v))
            gqa = hq != hkv

            def torch_call(tq=tq, tk=tk, tv=tv):
                with torch.inference_mode():
                    return torch.nn.functional.scaled_dot_product_attention(
                        tq, tk, tv, is_causal=causal, enable_gqa=gqa)

            if causal and nq != nk:
                # PyTorch's is_causal is top-left; the library's cases are bottom-right.
                skipped["torch"] = "causal with Nq != Nk (PyTorch aligns top-left)"
            else:
                self.calls["torch"] = torch_call
        if self.ort is not None:
            if causal and nq != nk:
                skipped["onnxruntime"] = "causal with Nq != Nk (top-left without past_key)"
            else:
                try:
                    self.calls["onnxruntime"] = self.onnx_call(q, k, v, causal)
                except Exception as error:  # an unsupported shape is a note, not a failure
                    skipped["onnxruntime"] = f"{type(error).__name__}: {error}".splitlines()[0]
        for name, call in list(self.calls.items()):
            try:
                result = call()
                array = result.numpy() if hasattr(result, "numpy") else result
                path = os.path.join(folder, f"out-{name}.f32")
                np.ascontiguousarray(array, dtype="<f4").tofile(path)
                outputs[name] = path
            except Exception as error:
                skipped[name] = f"{type(error).__name__}: {error}".splitlines()[0]
                del self.calls[name]
        return {"ok": True, "outputs": outputs, "skipped": skipped}

    def onnx_call(self, q, k, v, causal):
        onnx, ort = self.onnx, self.ort
        helper, proto = onnx.helper, onnx.TensorProto

        def info(name, array):
            return helper.make_tensor_value_info(name, proto.FLOAT, list(array.shape))

        node = helper.make_node("Attention", ["Q", "K", "V"], ["Y"], is_causal=int(causal))
        out_shape = [q.shape[0], q.shape[1], q.shape[2], v.shape[3]]
        graph = helper.make_graph(
            [node], "attention", [info("Q", q), info("K", k), info("V", v)],
            [helper.make_tensor_value_info("Y", proto.FLOAT, out_shape)])
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 23)])
        model.ir_version = min(model.ir_version, 10)
        options = ort.SessionOptions()
        options.intra_op_num_threads = THREADS
        options.inter_op_num_threads = 1
        options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
        session = ort.InferenceSession(
            model.SerializeToString(), options, providers=["CPUExecutionProvider"])
        feeds = {"Q": q, "K": k, "V": v}

        def call():
            return session.run(["Y"], feeds)[0]

        return call

    def time(self, request):
        name = request["peer"]
        call = self.calls.get(name)
        if call is None:
            return {"ok": False, "error": f"{name} is not loaded for this shape"}
        for _ in range(int(request.get("warmups", 1))):
            call()
        times = []
        for _ in range(int(request.get("runs", 5))):
            start = time.perf_counter()
            call()
            times.append(time.perf_counter() - start)
        return {"ok": True, "times": times}


def main():
    peers = Peers()
    reply({
        "hello": "peer_attention",
        "python": sys.version.split()[0],
        "executable": sys.executable,
        "threads": THREADS,
        "available": peers.available(),
        "versions": peers.versions,
        "missing": peers.missing,
    })
    for line in sys.stdin:
        line = line.strip()
        if not line:
            continue
        try:
            request = json.loads(line)
            op = request.get("op")
            if op == "quit":
                break
            if op == "load":
                reply(peers.load(request))
            elif op == "time":
                reply(peers.time(request))
            else:
                reply({"ok": False, "error": f"unknown op {op!r}"})
        except Exception as error:
            reply({"ok": False, "error": f"{type(error).__name__}: {error}"})


if __name__ == "__main__":
    main()
