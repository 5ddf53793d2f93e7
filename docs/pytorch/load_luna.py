#!/usr/bin/env python3
"""Run a `translate` model directory in plain PyTorch: greedy decoding and forced scoring.

A model directory is config.json + model.safetensors + spm.model (docs/model-format.md). This file
re-implements the inference of both architectures from that description, one sentence at a time and
without caches (each decoding step reruns the decoder over the whole prefix), so that it stays short
and readable. It is meant for checking and for reuse of the weights, not for speed.

Supported: format_version 1, arch "luna" (tied or untied K/V, softplus or elu causal weights, luna or
softmax cross-attention, post-norm or pre-norm, dynamic or fixed projection length) and arch
"transformer" (post-norm or pre-norm).

    python load_luna.py MODEL_DIR < source.en > greedy.de       # like translate decode --beam 1
    python load_luna.py MODEL_DIR --score source.en target.de   # like translate score
"""
import argparse
import json
import math
import os
import sys

import torch
import torch.nn.functional as F
from safetensors.torch import load_file


def sinusoid(positions, d):
    """[len(positions), d]: [sin | cos] halves, frequency i = exp(-i ln(10000) / (d/2 - 1))."""
    half = d // 2
    frequencies = torch.exp(torch.arange(half, dtype=torch.float32) * -(math.log(10000.0) / (half - 1)))
    angles = positions.to(torch.float32)[:, None] * frequencies[None, :]
    return torch.cat([torch.sin(angles), torch.cos(angles)], dim=1)


def split_heads(x, heads):
    """[n, d] -> [heads, n, d/heads], head h owning the contiguous columns h*d/heads ..."""
    n, d = x.shape
    return x.view(n, heads, d // heads).transpose(0, 1)


def merge_heads(x):
    """[heads, n, k] -> [n, heads*k]."""
    heads, n, k = x.shape
    return x.transpose(0, 1).reshape(n, heads * k)


class Model:
    """The network of a model directory, evaluated on one unpadded sentence at a time."""

    def __init__(self, directory):
        with open(os.path.join(directory, "config.json")) as f:
            self.c = json.load(f)
        c = self.c
        if c.get("format") != "luna-seq2seq" or c.get("format_version") != 1:
            raise ValueError(f"{directory}: not a format-1 luna-seq2seq model directory")
        # Half-precision files (translate average --dtype f16) are widened, as translate does.
        self.w = {k: v.float() for k, v in load_file(os.path.join(directory, "model.safetensors")).items()}
        self.arch = c["arch"]
        self.d = c["d_model"]
        self.heads = c["attention_heads"]
        self.pack_heads = c.get("pack_heads", self.heads)
        self.pre_norm = c["normalize_before"]
        self.eps = c.get("layer_norm_eps", 1e-5)
        self.tied = c.get("tie_kv", True)
        self.cross = c.get("cross_attention", "luna") if self.arch == "luna" else "softmax"
        self.activation = c.get("causal_activation", "softplus")
        self.pad, self.unk, self.bos, self.eos = c["pad_id"], c["unk_id"], c["bos_id"], c["eos_id"]
        self.embedding = self.w["encoder.embed_tokens.weight"]  # [V, d], also the output projection

    # Building blocks --------------------------------------------------------------------------

    def linear(self, name, x):
        return F.linear(x, self.w[name + ".weight"], self.w[name + ".bias"])

    def norm(self, name, x):
        return F.layer_norm(x, (self.d,), self.w[name + ".weight"], self.w[name + ".bias"], self.eps)

    def ffn(self, prefix, x):
        return self.linear(prefix + ".fc2", F.relu(self.linear(prefix + ".fc1", x)))

    def embed(self, ids):
        """sqrt(d) E[id] + S[position_offset + t]: [n, d]."""
        positions = torch.arange(len(ids)) + self.c["position_offset"]
        return math.sqrt(self.d) * self.embedding[torch.tensor(ids)] + sinusoid(positions, self.d)

    def softmax_attention(self, prefix, query, keys, values, causal=False):
        """fairseq MultiheadAttention: q scaled after its bias, softmax over the keys, out_proj."""
        q = split_heads(self.linear(prefix + ".q_proj", query), self.heads) / math.sqrt(self.d // self.heads)
        k = split_heads(self.linear(prefix + ".k_proj", keys), self.heads)
        v = split_heads(self.linear(prefix + ".v_proj", values), self.heads)
        logits = q @ k.transpose(1, 2)  # [H, m, n]
        if causal:
            m = query.shape[0]
            logits = logits.masked_fill(torch.ones(m, m).triu(1).bool(), float("-inf"))
        return self.linear(prefix + ".out_proj", merge_heads(torch.softmax(logits, dim=-1) @ v))

    def pack(self, prefix, p, context):
        """Luna pack: P queries the context with pack_heads heads; no output projection. [L, d]."""
        qp = split_heads(self.linear(prefix + ".pq_proj", p), self.pack_heads) / math.sqrt(self.d // self.pack_heads)
        if self.tied:
            kp = vp = split_heads(self.linear(prefix + ".pc_proj", context), self.pack_heads)
        else:
            kp = split_heads(self.linear(prefix + ".pk_proj", context), self.pack_heads)
            vp = split_heads(self.linear(prefix + ".pv_proj", context), self.pack_heads)
        return merge_heads(torch.softmax(qp @ kp.transpose(1, 2), dim=-1) @ vp)

    def unpack_keys_values(self, prefix, packed):
        """Keys and values of the unpack step, from the packed context: [H, L, d/H] each."""
        if self.tied:
            kv = split_heads(self.linear(prefix + ".c_proj", packed), self.heads)
            return kv, kv
        return (split_heads(self.linear(prefix + ".k_proj", packed), self.heads),
                split_heads(self.linear(prefix + ".v_proj", packed), self.heads))

    def unpack(self, prefix, query, keys, values):
        """Luna unpack: tokens query the L packed slots. [n, d]."""
        q = split_heads(self.linear(prefix + ".q_proj", query), self.heads) / math.sqrt(self.d // self.heads)
        attended = torch.softmax(q @ keys.transpose(1, 2), dim=-1) @ values
        return self.linear(prefix + ".out_proj", merge_heads(attended))

    def causal_luna(self, prefix, y, pack_query):
        """Causal Luna self-attention over a whole prefix y [m, d], with Pi = pack_query [H, L, k].

        alpha_s = w(c_s . Pi), e_t = (1/t) sum_{s<=t} (q_t . k_s) alpha_s, pi_t = softmax(e_t),
        o_t = (1/t) sum_{s<=t} (pi_t . alpha_s) v_s: the running sums written as masked products.
        """
        c = split_heads(self.linear(prefix + ".pc_proj", y), self.heads)
        z = c @ pack_query.transpose(1, 2)  # [H, m, L]
        if self.activation == "softplus":
            alpha = F.softplus(z, beta=math.log(2.0), threshold=20.0)
        else:
            alpha = F.elu(z) + 1
        q = split_heads(self.linear(prefix + ".q_proj", y), self.heads) / math.sqrt(self.d // self.heads)
        if self.tied:
            k = v = split_heads(self.linear(prefix + ".c_proj", y), self.heads)
        else:
            k = split_heads(self.linear(prefix + ".k_proj", y), self.heads)
            v = split_heads(self.linear(prefix + ".v_proj", y), self.heads)
        m = y.shape[0]
        lower = torch.ones(m, m).tril()
        steps = torch.arange(1, m + 1, dtype=torch.float32)[:, None]  # t = 1 ... m
        e = ((q @ k.transpose(1, 2)) * lower) @ alpha / steps  # [H, m, L]
        pi = torch.softmax(e, dim=-1)
        o = ((pi @ alpha.transpose(1, 2)) * lower) @ v / steps  # [H, m, k]
        return self.linear(prefix + ".out_proj", merge_heads(o))

    # Encoder and decoder ----------------------------------------------------------------------

    def residual(self, norm_name, x, sublayer):
        """Pre-norm: x + f(LN(x)); post-norm: LN(x + f(x))."""
        if self.pre_norm:
            return x + sublayer(self.norm(norm_name, x))
        return self.norm(norm_name, x + sublayer(x))

    @torch.no_grad()
    def encode(self, source):
        """source: ids ending in EOS. Returns (states [n, d], P [L, d] or None)."""
        x = self.embed(source)
        if self.arch == "transformer":
            for i in range(self.c["encoder_layers"]):
                name = f"encoder.layers.{i}"
                x = self.residual(name + ".self_attn_layer_norm", x,
                                  lambda h: self.softmax_attention(name + ".self_attn", h, h, h))
                x = self.residual(name + ".final_layer_norm", x, lambda h: self.ffn(name, h))
            return (self.norm("encoder.layer_norm", x) if self.pre_norm else x), None
        l = self.c.get("projection_length", 32)
        # One sentence: L = min(l, n) slots, none of them masked (dynamic projection), else all l.
        slots = min(l, len(source)) if self.c.get("dynamic_projection", True) else l
        table = self.w["encoder.projected_embeddings"][:slots]
        p = math.sqrt(self.d) * table + sinusoid(torch.arange(slots), self.d)
        for i in range(self.c["encoder_layers"]):
            name = f"encoder.layers.{i}"
            x_in, p_in = x, p
            if self.pre_norm:
                x_in = self.norm(name + ".self_attn_layer_norm", x)
                p_in = self.norm(name + ".self_atten_proj_layer_norm", p)
            packed = self.pack(name + ".self_attn", p_in, x_in)
            keys, values = self.unpack_keys_values(name + ".self_attn", packed)
            x = x + self.unpack(name + ".self_attn", x_in, keys, values)
            p = p + packed
            if not self.pre_norm:
                x = self.norm(name + ".self_attn_layer_norm", x)
                p = self.norm(name + ".self_atten_proj_layer_norm", p)
            x = self.residual(name + ".final_layer_norm", x, lambda h: self.ffn(name, h))
        if self.pre_norm:
            x = self.norm("encoder.layer_norm", x)
            p = self.norm("encoder.proj_layer_norm", p)
        return x, p

    @torch.no_grad()
    def source_contexts(self, states, p):
        """What each decoder layer takes from the source alone: a list of dicts, one per layer."""
        contexts = []
        for i in range(self.c["decoder_layers"]):
            name = f"decoder.layers.{i}"
            ctx = {}
            if self.arch == "luna":
                ctx["pack_query"] = (split_heads(self.linear(name + ".self_attn.pq_proj", p), self.heads)
                                     / math.sqrt(self.d // self.heads))  # from the raw P_i, also in pre-norm
            if self.cross == "luna":
                p_in = self.norm(name + ".encoder_atten_proj_layer_norm", p) if self.pre_norm else p
                packed = self.pack(name + ".encoder_attn", p_in, states)
                ctx["keys"], ctx["values"] = self.unpack_keys_values(name + ".encoder_attn", packed)
                p = p + packed
                if not self.pre_norm:
                    p = self.norm(name + ".encoder_atten_proj_layer_norm", p)
            contexts.append(ctx)
        return contexts

    @torch.no_grad()
    def decoder_log_probs(self, states, contexts, prefix):
        """log-softmax of the next-token logits after every position of prefix ([EOS] + ...): [m, V]."""
        y = self.embed(prefix)
        for i, ctx in enumerate(contexts):
            name = f"decoder.layers.{i}"
            if self.arch == "luna":
                y = self.residual(name + ".self_attn_layer_norm", y,
                                  lambda h: self.causal_luna(name + ".self_attn", h, ctx["pack_query"]))
            else:
                y = self.residual(name + ".self_attn_layer_norm", y,
                                  lambda h: self.softmax_attention(name + ".self_attn", h, h, h, causal=True))
            if self.cross == "luna":
                y = self.residual(name + ".encoder_attn_layer_norm", y,
                                  lambda h: self.unpack(name + ".encoder_attn", h, ctx["keys"], ctx["values"]))
            else:
                y = self.residual(name + ".encoder_attn_layer_norm", y,
                                  lambda h: self.softmax_attention(name + ".encoder_attn", h, states, states))
            y = self.residual(name + ".final_layer_norm", y, lambda h: self.ffn(name, h))
        if self.pre_norm:
            y = self.norm("decoder.layer_norm", y)
        return torch.log_softmax(y @ self.embedding.T, dim=-1)

    # Search and scoring -----------------------------------------------------------------------

    def greedy(self, pieces, max_len_a=1.2, max_len_b=10.0):
        """Greedy search as `translate decode --beam 1`: returns (output ids without EOS, log-prob incl. EOS)."""
        source = pieces[: self.c["max_positions"] - 1] + [self.eos]  # translate truncates the same way
        states, p = self.encode(source)
        contexts = self.source_contexts(states, p)
        # At most floor(a * n + b) output tokens, EOS included, computed in float32 like translate.
        f32 = lambda v: torch.tensor(v, dtype=torch.float32)
        max_len = int((f32(len(source)) * f32(max_len_a) + f32(max_len_b)).item())
        prefix, total = [self.eos], 0.0
        for step in range(max_len):
            lp = self.decoder_log_probs(states, contexts, prefix)[-1].clone()
            lp[self.pad] = lp[self.bos] = float("-inf")
            token = self.eos if step + 1 >= max_len else int(torch.argmax(lp))  # ties: the lower id
            total += float(lp[token])
            if token == self.eos:
                break
            prefix.append(token)
        return prefix[1:], total

    def score(self, source_pieces, target_pieces):
        """Sum of log p(target + EOS | source) and the number of tokens scored, as `translate score`."""
        states, p = self.encode(source_pieces + [self.eos])
        lp = self.decoder_log_probs(states, self.source_contexts(states, p), [self.eos] + target_pieces)
        target = torch.tensor(target_pieces + [self.eos])
        return float(lp.gather(1, target[:, None]).sum()), len(target)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model", help="model directory (config.json, model.safetensors, spm.model)")
    parser.add_argument("--score", nargs=2, metavar=("SOURCE", "TARGET"),
                        help="print 'logprob<TAB>tokens' per line pair instead of translating stdin")
    parser.add_argument("--max-len-a", type=float, default=1.2)
    parser.add_argument("--max-len-b", type=float, default=10.0)
    args = parser.parse_args()

    import sentencepiece as spm

    torch.set_num_threads(2)
    model = Model(args.model)
    sp = spm.SentencePieceProcessor(model_file=os.path.join(args.model, "spm.model"))
    if args.score:
        with open(args.score[0], encoding="utf-8") as s, open(args.score[1], encoding="utf-8") as t:
            for source, target in zip(s, t):
                logprob, count = model.score(sp.encode(source.rstrip("\n")), sp.encode(target.rstrip("\n")))
                print(f"{logprob:.6f}\t{count}", flush=True)
        return
    for line in sys.stdin:
        pieces = sp.encode(line.rstrip("\n"))
        output = model.greedy(pieces, args.max_len_a, args.max_len_b)[0] if pieces else []
        print(sp.decode(output), flush=True)


if __name__ == "__main__":
    main()
