"""Losses: each returns (mean loss over the batch, gradient with respect to its input)."""

from __future__ import annotations

import numpy as np


def softmax_cross_entropy(logits: np.ndarray, labels: np.ndarray) -> tuple[float, np.ndarray]:
    """Cross-entropy of softmax(logits) (N, K) against integer labels (N,); stable for any logits."""
    logits = np.asarray(logits)
    labels = np.asarray(labels)
    if logits.ndim != 2:
        raise ValueError(f"logits must be N x classes, got shape {logits.shape}")
    n, k = logits.shape
    if labels.shape != (n,):
        raise ValueError(f"labels must be one per sample ({n}), got shape {labels.shape}")
    if n == 0:
        raise ValueError("cannot compute a loss on an empty batch")
    if labels.dtype.kind not in "iu" or labels.min() < 0 or labels.max() >= k:
        raise ValueError(f"labels must be class numbers 0 to {k - 1}")
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_z = np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    log_p = shifted - log_z
    rows = np.arange(n)
    loss = -log_p[rows, labels].mean()
    grad = np.exp(log_p)
    grad[rows, labels] -= 1
    grad /= n
    return float(loss), grad.astype(logits.dtype, copy=False)


def mse(pred: np.ndarray, target: np.ndarray) -> tuple[float, np.ndarray]:
    """Mean squared error over every element, and its gradient."""
    pred = np.asarray(pred)
    target = np.asarray(target)
    if pred.shape != target.shape:
        raise ValueError(f"prediction {pred.shape} and target {target.shape} must have the same shape")
    if pred.size == 0:
        raise ValueError("cannot compute a loss on an empty batch")
    diff = pred - target
    return float(np.mean(diff * diff)), (2.0 / diff.size * diff).astype(pred.dtype, copy=False)
