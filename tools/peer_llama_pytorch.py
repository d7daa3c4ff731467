#!/usr/bin/env python3
"""The PyTorch peer of `eft perf train --arch llama-1b`: one training step of a LLaMA-shaped decoder in plain PyTorch.

A step is forward, loss, backward and an AdamW step (then zero_grad), on a batch of B sequences of T random tokens,
the sequence its own next-token labels (shifted by one inside, as transformers' LlamaForCausalLM does). The
architecture is transformers' LlamaForCausalLM with eager attention: RMSNorm before attention and MLP, q/k/v/o
projections without bias, rotary embeddings on q and k, grouped-query attention (each key/value head serves
heads/kv-heads query heads), a causal softmax, the SwiGLU MLP down(silu(gate(x)) * up(x)), a final RMSNorm and the LM
head tied to the token embeddings. The defaults are Llama-3.2-1B's shapes.

--mode lora: every weight frozen, LoRA (rank r, alpha 2r, no dropout) on q_proj and v_proj of every layer, as
             `eft perf train --method lora --targets q,v` trains.
--mode full: every parameter trains.

Threads as ../shared/bench/peer_pytorch.py: --threads N sets torch.set_num_threads(N) and, before torch is imported,
OPENBLAS_NUM_THREADS / OMP_NUM_THREADS = N (Debian's torch sends its products to the system OpenBLAS, which keeps
its own pool); --threads default leaves the process defaults. Run it with Debian's python3 (python3-torch).

Prints one JSON line: step_ms_median/min/max, tokens_per_s, peak_rss_mb (ru_maxrss), and the settings.
Usage: /usr/bin/python3 tools/peer_llama_pytorch.py --threads 2 --batch 4 --seq 64 --steps 3 --warmup 1
"""
import argparse, json, math, os, resource, statistics, time

ap = argparse.ArgumentParser()
ap.add_argument("--layers", type=int, default=16)
ap.add_argument("--batch", type=int, default=4)
ap.add_argument("--seq", type=int, default=64)
ap.add_argument("--hidden", type=int, default=2048)
ap.add_argument("--heads", type=int, default=32)
ap.add_argument("--kv-heads", type=int, default=8)
ap.add_argument("--ffn", type=int, default=8192)
ap.add_argument("--vocab", type=int, default=128256)
ap.add_argument("--rope-theta", type=float, default=500000.0)
ap.add_argument("--mode", choices=["lora", "full"], default="lora")
ap.add_argument("--rank", type=int, default=8)
ap.add_argument("--threads", default="default")
ap.add_argument("--steps", type=int, default=3)
ap.add_argument("--warmup", type=int, default=1)
ap.add_argument("--lr", type=float, default=1e-4)
ap.add_argument("--json", default=None)
args = ap.parse_args()

if args.threads != "default":
    os.environ["OPENBLAS_NUM_THREADS"] = args.threads
    os.environ["OMP_NUM_THREADS"] = args.threads

import torch
import torch.nn as nn
import torch.nn.functional as F

if args.threads != "default":
    torch.set_num_threads(int(args.threads))
torch.manual_seed(0)


def linear(n_in, n_out):
    # Uniform with std 0.02, as perf train draws its random weights; the default Kaiming init over 1.2 G weights
    # would take longer than the measurement.
    layer = nn.Linear(n_in, n_out, bias=False)
    with torch.no_grad():
        layer.weight.uniform_(-0.02 * math.sqrt(3), 0.02 * math.sqrt(3))
    return layer


class RMSNorm(nn.Module):
    def __init__(self, h, eps=1e-5):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(h))
        self.eps = eps

    def forward(self, x):
        return self.weight * (x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps))


class LoRALinear(nn.Module):
    """y = W0 x + (alpha/r) * B(A x); W0 frozen, A Kaiming-uniform, B zeros (peft's defaults)."""

    def __init__(self, base, r):
        super().__init__()
        self.base = base
        self.lora_A = nn.Parameter(torch.empty(r, base.in_features))
        self.lora_B = nn.Parameter(torch.zeros(base.out_features, r))
        nn.init.kaiming_uniform_(self.lora_A, a=math.sqrt(5))
        self.scaling = 2.0  # alpha = 2r

    def forward(self, x):
        return self.base(x) + (x @ self.lora_A.t() @ self.lora_B.t()) * self.scaling


def rotate_half(x):
    half = x.shape[-1] // 2
    return torch.cat((-x[..., half:], x[..., :half]), dim=-1)


class Layer(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.nh, self.nkv, self.dh = a.heads, a.kv_heads, a.hidden // a.heads
        self.q_proj, self.k_proj = linear(a.hidden, self.nh * self.dh), linear(a.hidden, self.nkv * self.dh)
        self.v_proj, self.o_proj = linear(a.hidden, self.nkv * self.dh), linear(self.nh * self.dh, a.hidden)
        self.gate_proj, self.up_proj, self.down_proj = linear(a.hidden, a.ffn), linear(a.hidden, a.ffn), linear(a.ffn, a.hidden)
        self.input_layernorm, self.post_attention_layernorm = RMSNorm(a.hidden), RMSNorm(a.hidden)

    def forward(self, x, cos, sin, mask):
        B, T, _ = x.shape
        h = self.input_layernorm(x)
        q = self.q_proj(h).view(B, T, self.nh, self.dh).transpose(1, 2)
        k = self.k_proj(h).view(B, T, self.nkv, self.dh).transpose(1, 2)
        v = self.v_proj(h).view(B, T, self.nkv, self.dh).transpose(1, 2)
        q, k = q * cos + rotate_half(q) * sin, k * cos + rotate_half(k) * sin
        group = self.nh // self.nkv
        k, v = k.repeat_interleave(group, dim=1), v.repeat_interleave(group, dim=1)
        s = (q @ k.transpose(-1, -2)) / math.sqrt(self.dh) + mask
        ctx = (torch.softmax(s, dim=-1) @ v).transpose(1, 2).reshape(B, T, -1)
        x = x + self.o_proj(ctx)
        h = self.post_attention_layernorm(x)
        return x + self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


class Model(nn.Module):
    def __init__(self, a):
        super().__init__()
        self.embed_tokens = nn.Embedding(a.vocab, a.hidden)
        with torch.no_grad():
            self.embed_tokens.weight.uniform_(-0.02 * math.sqrt(3), 0.02 * math.sqrt(3))
        self.layers = nn.ModuleList([Layer(a) for _ in range(a.layers)])
        self.norm = RMSNorm(a.hidden)
        dh = a.hidden // a.heads
        inv = 1.0 / (a.rope_theta ** (torch.arange(0, dh, 2).float() / dh))
        angles = torch.outer(torch.arange(a.seq).float(), inv)
        emb = torch.cat((angles, angles), dim=-1)
        self.cos, self.sin = emb.cos()[None, None], emb.sin()[None, None]
        self.mask = torch.full((a.seq, a.seq), float("-inf")).triu(1)[None, None]

    def forward(self, ids):
        x = self.embed_tokens(ids)
        for layer in self.layers:
            x = layer(x, self.cos, self.sin, self.mask)
        logits = F.linear(self.norm(x), self.embed_tokens.weight)
        return F.cross_entropy(logits[:, :-1].reshape(-1, logits.shape[-1]), ids[:, 1:].reshape(-1))


model = Model(args)
if args.mode == "lora":
    for p in model.parameters():
        p.requires_grad_(False)
    for layer in model.layers:
        layer.q_proj = LoRALinear(layer.q_proj, args.rank)
        layer.v_proj = LoRALinear(layer.v_proj, args.rank)
model.train()
params = [p for p in model.parameters() if p.requires_grad]
opt = torch.optim.AdamW(params, lr=args.lr, weight_decay=0.01)
ids = torch.randint(3, args.vocab, (args.batch, args.seq))

times = []
for i in range(args.warmup + args.steps):
    t0 = time.perf_counter()
    loss = model(ids)
    loss.backward()
    opt.step()
    opt.zero_grad(set_to_none=True)
    if i >= args.warmup:
        times.append(time.perf_counter() - t0)

median = statistics.median(times)
result = dict(
    torch=torch.__version__, mode=args.mode, layers=args.layers, batch=args.batch, seq=args.seq,
    threads_arg=args.threads, torch_num_threads=torch.get_num_threads(),
    OPENBLAS_CORETYPE=os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
    params_total=sum(p.numel() for p in model.parameters()), params_trainable=sum(p.numel() for p in params),
    step_ms_median=median * 1e3, step_ms_min=min(times) * 1e3, step_ms_max=max(times) * 1e3, steps=len(times),
    tokens_per_s=args.batch * args.seq / median,
    peak_rss_mb=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, loss=float(loss),
)
print(json.dumps(result))
if args.json:
    with open(args.json, "a") as f:
        f.write(json.dumps(result) + "\n")
