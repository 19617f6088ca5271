"""The textbook's chapter 3 ("Coding attention mechanisms") through clattn.

The chapter's six tokens "Your journey starts with one step", and each of its steps with the
numbers it prints: the scores of the query "journey", the weights normalised by the sum and
by softmax, the context vector, all scores / weights / context vectors at once, trainable
weights (scaled dot-product attention), causal attention and multi-head attention. The
weights the chapter draws from PyTorch's generator (torch.manual_seed(123) or (789), then
torch.rand or nn.Linear's initialisation) are copied here as numbers, so that only NumPy
and clattn are needed.

Run: python examples/python/chapter3.py  (CLATTN_DEVICE selects the device)
"""

import numpy as np

import clattn

inputs = np.array(
    [[0.43, 0.15, 0.89],   # Your     (x^1)
     [0.55, 0.87, 0.66],   # journey  (x^2)
     [0.57, 0.85, 0.64],   # starts   (x^3)
     [0.22, 0.58, 0.33],   # with     (x^4)
     [0.77, 0.25, 0.10],   # one      (x^5)
     [0.05, 0.80, 0.55]],  # step     (x^6)
    np.float32)

# 3.4.1: torch.manual_seed(123); W_query, W_key, W_value = torch.rand(3, 2) each ([d_in, d_out]).
W_query = np.array([[0.29611194, 0.51656228], [0.25167072, 0.68855679], [0.07397246, 0.86652195]])
W_key = np.array([[0.13657987, 0.10247904], [0.18405646, 0.72644675], [0.31525391, 0.68710667]])
W_value = np.array([[0.07563531, 0.19663817], [0.31641197, 0.40174013], [0.11856830, 0.82739538]])
# 3.4.2: torch.manual_seed(789); SelfAttention_v2's nn.Linear(3, 2) weights ([d_out, d_in]).
V2_WQ = np.array([[0.31605908, 0.45680857, 0.51183486], [-0.16828540, -0.33787704, -0.09177387]])
V2_WK = np.array([[0.40580583, -0.47042054, 0.23680520], [0.21336074, -0.26005065, -0.51054299]])
V2_WV = np.array([[0.25256988, -0.14147827, -0.19618134], [0.51910740, -0.08516758, -0.20432705]])
# 3.5.3 and 3.6: torch.manual_seed(123); the first module's nn.Linear(3, 2) weights (the
# CausalAttention, the wrapper's first head, MultiHeadAttention's W_query/W_key/W_value) ...
CA_WQ = np.array([[-0.23542964, 0.01912448, -0.28674594], [0.21772662, -0.49193421, 0.42322308]])
CA_WK = np.array([[-0.41964141, -0.45901766, -0.36482018], [0.26147819, -0.21332639, 0.21605217]])
CA_WV = np.array([[-0.49001414, -0.35029206, -0.21198919], [-0.11346072, -0.44043937, 0.37804362]])
# ... the wrapper's second head ...
H2_WQ = np.array([[-0.13615717, 0.18532233, 0.40826949], [0.10756382, 0.15787685, 0.55729234]])
H2_WK = np.array([[-0.26039040, 0.18287641, -0.25687245], [0.41260317, 0.46110451, -0.53230095]])
H2_WV = np.array([[0.49285263, 0.27569306, 0.25159022], [0.23768058, 0.47995073, -0.07623307]])
# ... and MultiHeadAttention's out_proj = nn.Linear(2, 2) (weight and bias).
MHA_WO = np.array([[-0.16675779, 0.22697258], [0.50002599, 0.13173823]])
MHA_BO = np.array([0.19335887, 0.68254095])


def show(label, values):
    """label: then the values, one row per line, 4 decimals (as the chapter's prints)."""
    values = np.asarray(values, np.float64)
    rows = values.reshape(-1, values.shape[-1]) if values.ndim > 1 else values[None]
    print(f"{label}:")
    for row in rows:
        print("   " + " ".join(f"{v:8.4f}" for v in row))


def main():
    with clattn.Handle() as h:
        print(f"clattn {clattn.library_version()} on {h.device_name}\n")

        # 3.3.1 one query: dot-product scores, weights by the sum and by softmax, context.
        query = inputs[1]
        by_sum = h.query_attention(inputs, query, norm="sum")
        show("3.3.1 attention scores of 'journey' (x^2)", by_sum.scores)
        show("3.3.1 attention weights (scores / sum)", by_sum.weights)
        show("3.3.1 sum of the weights", [by_sum.weights.sum()])
        by_softmax = h.query_attention(inputs, query, norm="softmax")
        show("3.3.1 attention weights (softmax)", by_softmax.weights)
        show("3.3.1 context vector z^2", by_softmax.context)

        # 3.3.2 every query at once: scores and weights [6, 6], context vectors [6, 3].
        show("3.3.2 attention scores", h.attention_weights(inputs, inputs, norm="none", scale=1.0))
        show("3.3.2 attention weights", h.attention_weights(inputs, inputs, scale=1.0))
        show("3.3.2 context vectors", h.attention(inputs, inputs, inputs, scale=1.0))

        # 3.4.1 trainable weights: q = x W_q (our linear takes W as [d_out, d_in]).
        q2 = h.linear(query[None], W_query.T)[0]
        keys = h.linear(inputs, W_key.T)
        values = h.linear(inputs, W_value.T)
        show("3.4.1 query_2", q2)
        show("3.4.1 attention scores of query_2",
             h.query_attention(keys, q2, norm="none").scores)
        scaled = h.query_attention(keys, q2, values, norm="softmax",
                                   scale=1.0 / np.sqrt(keys.shape[-1]))
        show("3.4.1 attention weights (scaled softmax)", scaled.weights)
        show("3.4.1 context vector of query_2", scaled.context)

        # 3.4.2 SelfAttention_v1 (the same weights) and v2 (nn.Linear weights).
        queries = h.linear(inputs, W_query.T)
        show("3.4.2 SelfAttention_v1", h.attention(queries, keys, values))
        q, k, v = (h.linear(inputs, w) for w in (V2_WQ, V2_WK, V2_WV))
        show("3.4.2 SelfAttention_v2", h.attention(q, k, v))

        # 3.5.1 causal attention weights (v2's queries and keys).
        show("3.5.1 causal attention weights", h.attention_weights(q, k, causal=True))

        # 3.5.3 CausalAttention on a batch of two copies of the inputs (dropout 0).
        batch = np.stack([inputs, inputs])
        q, k, v = (h.linear(batch, w) for w in (CA_WQ, CA_WK, CA_WV))
        show("3.5.3 CausalAttention context vectors", h.attention(q, k, v, causal=True))

        # 3.6.1 MultiHeadAttentionWrapper: two causal heads side by side, as heads of one call.
        heads = [(CA_WQ, CA_WK, CA_WV), (H2_WQ, H2_WK, H2_WV)]
        qh, kh, vh = (np.stack([h.linear(batch, hw[i]) for hw in heads], axis=1)
                      for i in range(3))  # [B, H, T, d_head]
        o = h.attention(qh, kh, vh, causal=True)
        show("3.6.1 MultiHeadAttentionWrapper", o.transpose(0, 2, 1, 3).reshape(2, 6, 4))

        # 3.6.2 MultiHeadAttention: projections, 2 heads of 1, causal, out_proj with bias.
        mha = h.mha(batch, CA_WQ, CA_WK, CA_WV, MHA_WO, heads=2, bo=MHA_BO, causal=True)
        show("3.6.2 MultiHeadAttention", mha)


if __name__ == "__main__":
    main()
