"""digits_torch: our weights files and architecture strings, in PyTorch.

Shared by tools/torch-check and tools/bench-vs-torch.  The grammar and the
tensor layouts are the ones documented at the top of engine/dg-model.h.
Needs Debian's python3-torch and python3-numpy (/usr/bin/python3).
"""

import json
import math
import re
import struct
from pathlib import Path

import numpy as np
from torch import nn


class ArchError(Exception):
    """A weights file or an architecture string that cannot be used."""


def read_safetensors(path):
    """Returns (metadata dict, {name: float32 ndarray})."""
    try:
        blob = Path(path).read_bytes()
    except OSError as e:
        raise ArchError(f"cannot read weights file {path}: {e.strerror}")
    if len(blob) < 8:
        raise ArchError(f"{path}: too short to be a safetensors file")
    (n,) = struct.unpack("<Q", blob[:8])
    if n > len(blob) - 8:
        raise ArchError(f"{path}: header length {n} exceeds the file")
    try:
        header = json.loads(blob[8:8 + n].decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise ArchError(f"{path}: malformed header: {e}")
    if not isinstance(header, dict):
        raise ArchError(f"{path}: header is not a JSON object")
    data = memoryview(blob)[8 + n:]
    metadata = header.pop("__metadata__", None) or {}
    tensors = {}
    for name, info in header.items():
        try:
            dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        except (KeyError, TypeError, ValueError):
            raise ArchError(f"{path}: tensor {name!r}: malformed header entry")
        if dtype != "F32":
            raise ArchError(f"{path}: tensor {name!r} is {dtype}, expected F32")
        count = math.prod(shape)
        if not (0 <= begin <= end <= len(data)) or end - begin != 4 * count:
            raise ArchError(f"{path}: tensor {name!r}: bad data offsets {begin}..{end} "
                             f"for shape {shape}")
        tensors[name] = np.frombuffer(data[begin:end], dtype="<f4").astype(np.float32).reshape(shape)
    return metadata, tensors



_CONV = re.compile(r"conv(\d+)k(\d+)(v?)")
_DENSE = re.compile(r"dense(\d+)")
_DROPOUT = re.compile(r"dropout([0-9.eE+-]+)")


def build_model(arch):
    """nn.Sequential for @arch, and {our layer index: module} for the layers
    that own tensors."""
    modules = []
    owners = {}
    c, h, w = 1, 28, 28
    flat = False
    prev = None
    for i, raw in enumerate(arch.split(",")):
        token = raw.strip()
        if m := _CONV.fullmatch(token):
            out, k, valid = int(m[1]), int(m[2]), m[3] == "v"
            if out <= 0 or k <= 0 or k % 2 == 0:
                raise ArchError(f"layer {i}: malformed layer {token!r}")
            pad = 0 if valid else (k - 1) // 2
            if flat:
                modules.append(nn.Unflatten(1, (c, h, w)))
                flat = False
            if h + 2 * pad < k or w + 2 * pad < k:
                raise ArchError(f"layer {i} ({token}): kernel does not fit a {h}x{w} input")
            mod = nn.Conv2d(c, out, k, padding=pad)
            owners[i] = mod
            modules.append(mod)
            c, h, w = out, h + 2 * pad - k + 1, w + 2 * pad - k + 1
            prev = "conv"
        elif m := _DENSE.fullmatch(token):
            out = int(m[1])
            if out <= 0:
                raise ArchError(f"layer {i}: malformed layer {token!r}")
            if not flat:
                modules.append(nn.Flatten())
                flat = True
            mod = nn.Linear(c * h * w, out)
            owners[i] = mod
            modules.append(mod)
            c, h, w = out, 1, 1
            prev = "dense"
        elif token == "bn":
            if prev not in ("conv", "dense"):
                raise ArchError(f"layer {i}: bn must follow a conv or dense layer")
            mod = nn.BatchNorm1d(c, eps=1e-5, momentum=0.1) if flat else \
                nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)
            owners[i] = mod
            modules.append(mod)
            prev = "bn"
        elif token == "relu":
            modules.append(nn.ReLU())
            prev = "relu"
        elif token == "pool":
            if flat or h < 2 or w < 2:
                raise ArchError(f"layer {i}: cannot pool a {h}x{w} input")
            modules.append(nn.MaxPool2d(2))
            h, w = h // 2, w // 2
            prev = "pool"
        elif m := _DROPOUT.fullmatch(token):
            try:
                p = float(m[1])
            except ValueError:
                raise ArchError(f"layer {i}: malformed layer {token!r}")
            if not 0.0 <= p < 1.0:
                raise ArchError(f"layer {i}: dropout probability {p} out of [0, 1)")
            modules.append(nn.Dropout(p))
            prev = "dropout"
        else:
            raise ArchError(f"layer {i}: unknown layer {token!r}")
    if c * h * w != 10:
        raise ArchError(f"architecture ends with {c}x{h}x{w} outputs, not 10")
    if not flat:
        modules.append(nn.Flatten())
    return nn.Sequential(*modules), owners


def read_arch(path):
    """The architecture string stored in a weights file's __metadata__."""
    metadata, _ = read_safetensors(path)
    arch = metadata.get("arch")
    if not isinstance(arch, str) or not arch:
        raise ArchError(f"{path}: no architecture in __metadata__")
    return arch
