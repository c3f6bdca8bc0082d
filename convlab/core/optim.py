"""Optimisers with PyTorch's update rules; they update the live parameter arrays in place."""

from __future__ import annotations

import numpy as np

from .fastpath import engine


def _compiled():
    """The compiled updates (``fastpath.optim_loops``) while the fast path is on, else None."""
    if not engine.active(training=True):
        return None
    from .fastpath import optim_loops

    return optim_loops


def _fit(*arrays) -> bool:
    """Whether the compiled updates take these arrays: one float dtype, all C-contiguous."""
    dtype = arrays[0].dtype
    return dtype in (np.float32, np.float64) and all(a.dtype == dtype and a.flags.c_contiguous for a in arrays)


class Optimizer:
    def __init__(self, params: dict[str, np.ndarray], lr: float, weight_decay: float = 0.0):
        if not np.isfinite(lr) or lr <= 0:
            raise ValueError(f"learning rate must be a positive number, got {lr}")
        if not np.isfinite(weight_decay) or weight_decay < 0:
            raise ValueError(f"weight decay must be zero or positive, got {weight_decay}")
        self.params = params
        self.lr = float(lr)
        self.weight_decay = float(weight_decay)
        self.state: dict[str, dict[str, np.ndarray]] = {}
        self.steps = 0
        self._loops = None  # the compiled updates for this step, or None

    def _grad(self, name, grads):
        g = grads[name]
        if self.weight_decay:
            g = g + self.weight_decay * self.params[name]
        return g

    def step(self, grads: dict[str, np.ndarray]) -> None:
        missing = set(self.params) - set(grads)
        if missing:
            raise ValueError(f"no gradient for {', '.join(sorted(missing))}")
        self.steps += 1
        self._loops = _compiled()
        for name, p in self.params.items():
            self._update(name, p, self._grad(name, grads))

    def _update(self, name, p, g):
        raise NotImplementedError

    def state_dict(self) -> dict:
        """Copies of the optimiser's state: settings, step count and per-parameter buffers."""
        return {
            "type": type(self).__name__,
            "settings": self.settings(),
            "steps": self.steps,
            "buffers": {n: {k: v.copy() for k, v in b.items()} for n, b in self.state.items()},
        }

    def load_state_dict(self, state: dict) -> None:
        if state.get("type") != type(self).__name__:
            raise ValueError(f"optimiser state is for {state.get('type')!r}, not {type(self).__name__}")
        buffers = state.get("buffers", {})
        for name, b in buffers.items():
            if name not in self.params:
                raise ValueError(f"optimiser state names an unknown parameter {name!r}")
            for k, v in b.items():
                if np.shape(v) != self.params[name].shape:
                    raise ValueError(f"optimiser state {name}.{k} has shape {np.shape(v)}, "
                                     f"not {self.params[name].shape}")
        self.steps = int(state.get("steps", 0))
        self.state = {n: {k: np.array(v, dtype=self.params[n].dtype) for k, v in b.items()} for n, b in buffers.items()}

    def settings(self) -> dict:
        return {"lr": self.lr, "weight_decay": self.weight_decay}


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, as torch.optim.SGD."""

    def __init__(self, params, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        if not 0 <= momentum < 1:
            raise ValueError(f"momentum must lie in [0, 1), got {momentum}")
        if nesterov and momentum == 0:
            raise ValueError("Nesterov momentum needs a momentum above 0")
        self.momentum = float(momentum)
        self.nesterov = bool(nesterov)

    def _update(self, name, p, g):
        if self.momentum:
            buf = self.state.setdefault(name, {}).get("momentum")
            if buf is None:
                buf = self.state[name]["momentum"] = np.array(g, dtype=p.dtype)
            elif self._loops is not None and _fit(p, g, buf):
                t = p.dtype.type
                self._loops.sgd_momentum(p.reshape(-1), g.reshape(-1), buf.reshape(-1), t(self.lr),
                                   t(self.momentum), self.nesterov)
                return
            else:
                buf *= self.momentum
                buf += g
            g = g + self.momentum * buf if self.nesterov else buf
        p -= self.lr * g

    def settings(self):
        return {**super().settings(), "momentum": self.momentum, "nesterov": self.nesterov}


class Adam(Optimizer):
    """Adam with bias correction, as torch.optim.Adam (L2 weight decay added to the gradient)."""

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(params, lr, weight_decay)
        b1, b2 = betas
        if not (0 <= b1 < 1 and 0 <= b2 < 1):
            raise ValueError(f"betas must lie in [0, 1), got {betas}")
        if eps <= 0:
            raise ValueError(f"eps must be positive, got {eps}")
        self.betas = (float(b1), float(b2))
        self.eps = float(eps)

    def _update(self, name, p, g):
        st = self.state.setdefault(name, {})
        if "m" not in st:
            st["m"] = np.zeros_like(p)
            st["v"] = np.zeros_like(p)
        b1, b2 = self.betas
        m, v = st["m"], st["v"]
        t = self.steps
        if self._loops is not None and _fit(p, g, m, v):
            d = p.dtype.type
            self._loops.adam(p.reshape(-1), g.reshape(-1), m.reshape(-1), v.reshape(-1), d(b1), d(1 - b1), d(b2),
                       d(1 - b2), d(self.lr / (1 - b1**t)), d(1 - b2**t), d(self.eps))
            return
        m *= b1
        m += (1 - b1) * g
        v *= b2
        v += (1 - b2) * (g * g)
        step = self.lr / (1 - b1**t)
        denom = np.sqrt(v / (1 - b2**t)) + self.eps
        p -= (step * m / denom).astype(p.dtype, copy=False)

    def settings(self):
        return {**super().settings(), "betas": list(self.betas), "eps": self.eps}


OPTIMIZERS = {"sgd": SGD, "adam": Adam}


def make_optimizer(name: str, params, **settings) -> Optimizer:
    """Build an optimiser by name: "sgd", "momentum" (SGD, momentum 0.9 unless given) or "adam"."""
    key = name.lower()
    if key == "momentum":
        settings.setdefault("momentum", 0.9)
        key = "sgd"
    if key not in OPTIMIZERS:
        raise ValueError(f"unknown optimiser {name!r} (known: sgd, momentum, adam)")
    return OPTIMIZERS[key](params, **settings)


def warm_up(dtype=np.float32) -> None:
    """Two steps of each optimiser on a one-value parameter: their compiled updates for ``dtype``
    are compiled now (or loaded from Numba's cache) rather than in a run's first batch."""
    for opt in (SGD({"w": np.zeros(1, dtype)}, lr=0.1, momentum=0.5), Adam({"w": np.zeros(1, dtype)})):
        for _ in range(2):
            opt.step({"w": np.ones(1, dtype)})
