"""PyTorch CPU peer of scripts/bench-bptt.ts: the same RNN, initial weights, data and Adam
settings, trained by torch's own BPTT. Reads raw little-endian files written by the TS side
and prints one JSON line: per-epoch seconds of the training loop alone, training losses and the
test accuracy.

The loop is PyTorch's fastest plain one we found on CPU: zero_grad(set_to_none=True), the
training-set loss pass outside the timed region, and the thread count and Adam implementation
given on the command line (the TS side tries several and keeps the fastest).

usage: bench_bptt_peer.py DIR EPOCHS BATCH SEED THREADS FOREACH
  (DIR holds meta.json and the .f32/.i32 files; FOREACH is 0 or 1: Adam's multi-tensor path)
"""
import json
import os
import sys
import time

import numpy as np
import torch


def load(directory, name, dtype, shape):
    return torch.from_numpy(np.fromfile(os.path.join(directory, name), dtype=dtype).reshape(shape))


def main():
    directory, epochs, batch, seed, threads, foreach = sys.argv[1], *map(int, sys.argv[2:7])
    torch.set_num_threads(threads)
    torch.manual_seed(seed)
    meta = json.load(open(os.path.join(directory, "meta.json")))
    n_train, n_test, T, d, h, K = (meta[k] for k in ("nTrain", "nTest", "T", "d", "h", "K"))
    x_train = load(directory, "train_x.f32", np.float32, (n_train, T, d))
    y_train = load(directory, "train_y.i32", np.int32, (n_train,)).long()
    x_test = load(directory, "test_x.f32", np.float32, (n_test, T, d))
    y_test = load(directory, "test_y.i32", np.int32, (n_test,)).long()

    rnn = torch.nn.RNN(d, h, nonlinearity="tanh", batch_first=True)
    head = torch.nn.Linear(h, K)
    with torch.no_grad():  # our initial weights: U, W, b (bias_hh zero), V, c
        rnn.weight_ih_l0.copy_(load(directory, "U.f32", np.float32, (h, d)))
        rnn.weight_hh_l0.copy_(load(directory, "W.f32", np.float32, (h, h)))
        rnn.bias_ih_l0.copy_(load(directory, "b.f32", np.float32, (h,)))
        rnn.bias_hh_l0.zero_()
        head.weight.copy_(load(directory, "V.f32", np.float32, (K, h)))
        head.bias.copy_(load(directory, "c.f32", np.float32, (K,)))
    params = list(rnn.parameters()) + list(head.parameters())
    optimizer = torch.optim.Adam(params, lr=1e-3, foreach=bool(foreach))
    loss_fn = torch.nn.CrossEntropyLoss()

    def logits(x):
        return head(rnn(x)[0][:, -1, :])

    seconds, losses = [], []
    for _ in range(epochs):
        started = time.perf_counter()
        order = torch.randperm(n_train)
        for begin in range(0, n_train, batch):
            idx = order[begin:begin + batch]
            optimizer.zero_grad(set_to_none=True)
            loss_fn(logits(x_train[idx]), y_train[idx]).backward()
            optimizer.step()
        seconds.append(time.perf_counter() - started)
        with torch.no_grad():  # the training-set loss, as our per-epoch record reports it (not timed)
            losses.append(loss_fn(logits(x_train), y_train).item())
    with torch.no_grad():
        accuracy = (logits(x_test).argmax(1) == y_test).float().mean().item()
    print(json.dumps({"seconds": seconds, "losses": losses, "testAccuracy": accuracy, "torch": torch.__version__,
                      "threads": torch.get_num_threads(), "foreach": bool(foreach)}))


if __name__ == "__main__":
    main()
