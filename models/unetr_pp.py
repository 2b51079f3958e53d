#!/usr/bin/env python3
"""UNETR++ (Shaker et al., "UNETR++: Delving into Efficient and Accurate 3D Medical Image
Segmentation", arXiv 2212.04497), written for unetrc from the paper's description and the
structure notes in MODELS.md section 1.5 (Synapse configuration).  PyTorch + MONAI blocks only.

Network (input [B, Cin, D, H, W], patch (2, 4, 4), stage widths dims = fs * (2, 4, 8, 16)):

    encoder
      stem      Conv(k = s = (2, 4, 4), no bias) -> GroupNorm(groups = Cin)           -> stage 1
      down i    Conv(k = s = 2, no bias) -> GroupNorm(groups = dims[i], 2 ch/group)     -> stage i+1
      stage i   depths[i] x TransformerBlock(N_i tokens, dims[i], proj_size[i])
    decoder  (skips are added, not concatenated)
      up 4->3   ConvT(k = s = 2, no bias) + stage-3 output -> 3 x TransformerBlock(proj 64)
      up 3->2, up 2->1 the same
      up 1->0   ConvT(k = s = (2, 4, 4), no bias) + encoder1(x) -> UnetResBlock (IN)
      encoder1  UnetResBlock(Cin -> fs, k3, IN) on the full-resolution input
      outputs   out1: Conv1x1(fs) on the full-resolution features; with deep supervision also
                out2: Conv1x1(2 fs) on the stage-1 decoder features, out3: Conv1x1(4 fs) on stage 2

    TransformerBlock(x [B, C, H, W, D]):
      t    = x.reshape(B, C, N).permute(0, 2, 1) + pos_embed           (pos_embed [1, N, C])
      a    = t + gamma * EPA(LayerNorm(t))                             (gamma per channel)
      s    = a.reshape(B, H, W, D, C).permute(0, 4, 1, 2, 3)
      out  = s + Conv1x1(bias)(Dropout3d(UnetResBlock(C, C, k3, BatchNorm)(s)))

    EPA (efficient paired attention) on t [B, N, C], h heads of d = C / h:
      q, k, v_ca, v_sa = Linear(C, 4C, no bias)(t) -> [B, N, 4, h, d] -> [4, B, h, N, d] -> each [B, h, d, N]
      k_p  = E(k), v_p = E(v_sa)            E = F = one Linear(N, P) (shared weights, with bias), on the token axis
      q, k = L2-normalised along N          (k_p is projected from the unnormalised k)
      channel attention: softmax(q k^T * temperature)  [B, h, d, d]  @ v_ca -> [B, h, d, N]
                         .permute(0, 3, 1, 2).reshape(B, N, C)
      spatial attention: softmax(q^T k_p * temperature2) [B, h, N, P] @ v_p^T -> [B, h, N, d]
                         .permute(0, 3, 1, 2).reshape(B, N, C)   (the [B, d, h, N] memory order, as published)
      out  = concat(Linear(C, C/2)(spatial), Linear(C, C/2)(channel), dim=-1)
      temperature, temperature2: [h, 1, 1]; attention dropout on both softmaxes

The published Synapse model is UNETR_PP(1, 9, (64, 128, 128), feature_size=16, num_heads=4,
depths=(3, 3, 3, 3), proj_size=(64, 64, 64, 32)): 42.96 M parameters (paper / repository
README), most of them in the token-sized position embeddings and E projections of the 32^3 stages.

    python3 models/unetr_pp.py          # parameter counts of the Synapse and half-width configs
"""

from __future__ import annotations

import sys

import torch
import torch.nn as nn
import torch.nn.functional as F


def _res_block(cin: int, cout: int, norm):
    from monai.networks.blocks.dynunet_block import UnetResBlock

    return UnetResBlock(3, cin, cout, kernel_size=3, stride=1, norm_name=norm)


class EPA(nn.Module):
    """Efficient paired attention: shared query/key, channel and spatial attention."""

    def __init__(self, tokens: int, dim: int, proj: int, heads: int, drop: float):
        super().__init__()
        self.heads = heads
        self.qkvv = nn.Linear(dim, 4 * dim, bias=False)
        self.E = nn.Linear(tokens, proj)        # also used as F (shared weights)
        self.temperature = nn.Parameter(torch.ones(heads, 1, 1))
        self.temperature2 = nn.Parameter(torch.ones(heads, 1, 1))
        self.drop_ca = nn.Dropout(drop)
        self.drop_sa = nn.Dropout(drop)
        self.out_sa = nn.Linear(dim, dim // 2)
        self.out_ca = nn.Linear(dim, dim // 2)

    def forward(self, t):
        b, n, c = t.shape
        h = self.heads
        parts = self.qkvv(t).reshape(b, n, 4, h, c // h).permute(2, 0, 3, 1, 4)
        q, k, v_ca, v_sa = (p.transpose(-2, -1) for p in (parts[0], parts[1], parts[2], parts[3]))  # [b, h, d, n]
        k_p = self.E(k)                         # [b, h, d, P]
        v_p = self.E(v_sa)
        q = F.normalize(q, dim=-1)
        k = F.normalize(k, dim=-1)
        ca = self.drop_ca((q @ k.transpose(-2, -1) * self.temperature).softmax(dim=-1))      # [b, h, d, d]
        x_ca = (ca @ v_ca).permute(0, 3, 1, 2).reshape(b, n, c)
        sa = self.drop_sa((q.permute(0, 1, 3, 2) @ k_p * self.temperature2).softmax(dim=-1))  # [b, h, n, P]
        x_sa = (sa @ v_p.transpose(-2, -1)).permute(0, 3, 1, 2).reshape(b, n, c)
        return torch.cat((self.out_sa(x_sa), self.out_ca(x_ca)), dim=-1)


class TransformerBlock(nn.Module):
    def __init__(self, tokens: int, dim: int, proj: int, heads: int, drop: float):
        super().__init__()
        if dim % heads:
            raise ValueError(f"width {dim} is not divisible by {heads} heads")
        self.norm = nn.LayerNorm(dim)
        self.gamma = nn.Parameter(1e-6 * torch.ones(dim))
        self.epa = EPA(tokens, dim, proj, heads, drop)
        self.conv51 = _res_block(dim, dim, "batch")
        self.conv8 = nn.Sequential(nn.Dropout3d(0.1, False), nn.Conv3d(dim, dim, 1))
        self.pos_embed = nn.Parameter(torch.zeros(1, tokens, dim))

    def forward(self, x):
        b, c, h, w, d = x.shape
        t = x.reshape(b, c, h * w * d).permute(0, 2, 1) + self.pos_embed
        a = t + self.gamma * self.epa(self.norm(t))
        s = a.reshape(b, h, w, d, c).permute(0, 4, 1, 2, 3)
        return s + self.conv8(self.conv51(s))


class UpBlock(nn.Module):
    """ConvT upsampling, the skip added, then transformer blocks (or one residual conv block)."""

    def __init__(self, cin: int, cout: int, up, tokens: int, depth: int, heads: int, proj: int, drop: float,
                 conv: bool = False, norm="instance"):
        super().__init__()
        self.up = nn.ConvTranspose3d(cin, cout, kernel_size=up, stride=up, bias=False)
        if conv:
            self.block = _res_block(cout, cout, norm)
        else:
            self.block = nn.Sequential(*[TransformerBlock(tokens, cout, proj, heads, drop) for _ in range(depth)])

    def forward(self, x, skip):
        return self.block(self.up(x) + skip)


class UNETR_PP(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, img_size, feature_size: int = 16, num_heads: int = 4,
                 depths=(3, 3, 3, 3), proj_size=(64, 64, 64, 32), dec_proj_size: int = 64, dec_depth: int = 3,
                 attn_drop: float = 0.15, norm_name="instance", do_ds: bool = True):
        super().__init__()
        patch = (2, 4, 4)
        if any(s % (p * 8) for s, p in zip(img_size, patch)):
            raise ValueError(f"img_size {tuple(img_size)} must be divisible by {tuple(p * 8 for p in patch)}")
        fs = feature_size
        dims = [2 * fs, 4 * fs, 8 * fs, 16 * fs]
        grid = [tuple(s // p for s, p in zip(img_size, patch))]
        for _ in range(3):
            grid.append(tuple(g // 2 for g in grid[-1]))
        tokens = [g[0] * g[1] * g[2] for g in grid]
        self.grid = grid
        self.do_ds = do_ds
        self.down = nn.ModuleList([nn.Sequential(nn.Conv3d(in_channels, dims[0], patch, stride=patch, bias=False),
                                                 nn.GroupNorm(in_channels, dims[0]))])
        for i in range(3):
            self.down.append(nn.Sequential(nn.Conv3d(dims[i], dims[i + 1], 2, stride=2, bias=False),
                                           nn.GroupNorm(dims[i], dims[i + 1])))
        self.stages = nn.ModuleList(
            nn.Sequential(*[TransformerBlock(tokens[i], dims[i], proj_size[i], num_heads, attn_drop)
                            for _ in range(depths[i])]) for i in range(4))
        self.encoder1 = _res_block(in_channels, fs, norm_name)
        self.decoder5 = UpBlock(dims[3], dims[2], 2, tokens[2], dec_depth, num_heads, dec_proj_size, attn_drop)
        self.decoder4 = UpBlock(dims[2], dims[1], 2, tokens[1], dec_depth, num_heads, dec_proj_size, attn_drop)
        self.decoder3 = UpBlock(dims[1], dims[0], 2, tokens[0], dec_depth, num_heads, dec_proj_size, attn_drop)
        self.decoder2 = UpBlock(dims[0], fs, patch, 0, 0, num_heads, 0, 0.0, conv=True, norm=norm_name)
        self.out1 = nn.Conv3d(fs, out_channels, 1)
        if do_ds:
            self.out2 = nn.Conv3d(2 * fs, out_channels, 1)
            self.out3 = nn.Conv3d(4 * fs, out_channels, 1)

    def forward(self, x_in):
        skips = []
        x = x_in
        for i in range(4):
            x = self.stages[i](self.down[i](x))
            skips.append(x)
        # the last stage's output goes through the token layout and back, as published
        b, c = x.shape[:2]
        g = self.grid[3]
        x = x.reshape(b, c, -1).permute(0, 2, 1).reshape(b, g[0], g[1], g[2], c).permute(0, 4, 1, 2, 3)
        dec3 = self.decoder5(x, skips[2])
        dec2 = self.decoder4(dec3, skips[1])
        dec1 = self.decoder3(dec2, skips[0])
        out = self.decoder2(dec1, self.encoder1(x_in))
        if self.do_ds:
            return self.out1(out), self.out2(dec1), self.out3(dec2)
        return self.out1(out)


def synapse(**kw) -> UNETR_PP:
    """The published Synapse model (1 -> 9 classes at 64 x 128 x 128)."""
    kw.setdefault("feature_size", 16)
    return UNETR_PP(1, 9, (64, 128, 128), **kw)


def param_count(m: nn.Module) -> int:
    return int(sum(p.numel() for p in m.parameters()))


def main() -> int:
    with torch.no_grad():
        for name, m in (("Synapse (fs 16)", synapse()), ("Synapse half width (fs 8)", synapse(feature_size=8)),
                        ("Synapse without deep supervision", synapse(do_ds=False))):
            print(f"{name}: {param_count(m):,} parameters ({param_count(m) / 1e6:.2f} M)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
