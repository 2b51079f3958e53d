#!/usr/bin/env python3
"""Converts a PyTorch checkpoint (a MONAI bundle's models/model.pt, or any
torch.save of a state_dict) to safetensors, which `unetrc NET.json --weights
FILE.safetensors` reads (unetrc never unpickles .pt/.pth files).

    python models/convert_checkpoint.py model.pt model.safetensors [--key KEY] [--strip PREFIX]

The checkpoint may be the state_dict itself or a dict holding it (bundles and
MONAI's CheckpointSaver use {"model": ..., "optimizer": ...}; others use
"state_dict" or "network"): --key picks the entry, else the first of those
found. --strip removes a prefix from every key (default "module.", what
DataParallel/DistributedDataParallel add; "" keeps keys as they are).
Tensors keep their dtype (float32, float16, bfloat16; int64 counters such as
BatchNorm's num_batches_tracked). Needs torch and safetensors.

It loads with torch.load(weights_only=True), so a checkpoint cannot run code
while being converted. torch 1.13's weights-only loader refuses some plain
values (e.g. an optimizer's float learning rate in a CheckpointSaver file):
then it says so, and --trust-pickle loads with the full unpickler (only for
files you trust).
"""
import argparse
import pickle
import sys

import torch
from safetensors.torch import save_file


def load(path, trust):
    if trust:
        return torch.load(path, map_location="cpu")
    try:
        return torch.load(path, map_location="cpu", weights_only=True)
    except TypeError:  # torch < 1.13 has no weights_only
        sys.exit(f"convert_checkpoint: {path}: this torch cannot load a checkpoint without running its pickle; "
                 "add --trust-pickle if you trust the file")
    except pickle.UnpicklingError as e:
        # torch 1.13's weights-only loader refuses some plain values (an optimizer's float learning rate)
        first = str(e).strip().split("WeightsUnpickler error:")[-1].strip()[:80]
        sys.exit(f"convert_checkpoint: {path}: torch's weights-only loader refused it ({first}); "
                 "add --trust-pickle if you trust the file")


def state_dict_of(obj, key):
    if key:
        if not isinstance(obj, dict) or key not in obj:
            sys.exit(f"convert_checkpoint: the checkpoint has no entry '{key}'")
        obj = obj[key]
    elif isinstance(obj, dict) and not all(torch.is_tensor(v) for v in obj.values()):
        for k in ("model", "state_dict", "network", "net"):
            if isinstance(obj.get(k), dict):
                obj = obj[k]
                break
    if not isinstance(obj, dict) or not obj:
        sys.exit("convert_checkpoint: no state_dict found (give --key)")
    bad = [k for k, v in obj.items() if not torch.is_tensor(v)]
    if bad:
        sys.exit(f"convert_checkpoint: entries that are not tensors: {', '.join(map(str, bad[:10]))} (give --key)")
    return obj


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("checkpoint")
    ap.add_argument("output")
    ap.add_argument("--key", default=None, help="the checkpoint's entry holding the state_dict")
    ap.add_argument("--strip", default="module.", help="prefix removed from keys (default: module.)")
    ap.add_argument("--trust-pickle", action="store_true",
                    help="load with the full unpickler (runs the file's code: only for files you trust)")
    a = ap.parse_args()
    sd = state_dict_of(load(a.checkpoint, a.trust_pickle), a.key)
    out = {}
    for k, v in sd.items():
        if a.strip and k.startswith(a.strip):
            k = k[len(a.strip):]
        if k in out:
            sys.exit(f"convert_checkpoint: two keys become '{k}' after stripping '{a.strip}'")
        out[k] = v.detach().contiguous().clone()  # shared storage (tied weights) is saved once per key
    save_file(out, a.output)
    print(f"convert_checkpoint: {len(out)} tensors -> {a.output}")


if __name__ == "__main__":
    main()
