"""``fastopt experiment NAME``: the studies of :mod:`fastopt.experiments` and a sketched
Newton study on the softmax-ReLU loss, each run, summarized and plotted."""

from __future__ import annotations

import numpy as np

from .errors import CliError
from .output import _out_path, _save_figure


class Study:
    """What an experiment produced: a printable summary and a figure."""

    def __init__(self, summary: str, figure):
        self.text = summary
        self.figure = figure

    def summary(self) -> str:
        return self.text

    def plot(self):
        return self.figure


def _experiment_momentum(args) -> Study:
    """Iterations to tolerance against rho for heavy ball and Nesterov, L2 logistic on
    mushrooms, step 1/L, with the theory's optimal rho marked."""
    from .. import datasets, experiments, theory
    from ..plot import curves
    from ..problems import Logistic

    X, y = datasets.load("mushrooms")
    if args.quick:
        X, y = X[:1000], y[:1000]
    objective = Logistic(X, y, lam=3e-2)
    rhos = np.linspace(0.0, 0.95, 6 if args.quick else 20)
    tol = 1e-4 if args.quick else 1e-6
    out = experiments.momentum_sweep(objective, rhos, tol=tol,
                                     max_iter=500 if args.quick else 5000)
    L, mu = objective.lipschitz(), objective.strong_convexity()
    _, rho_hb = theory.heavy_ball_parameters(L, mu)
    _, rho_nag = theory.nesterov_parameters(L, mu)
    series, lines = {}, []
    for method in ("heavy-ball", "nesterov"):
        r = out[method]
        series[method] = np.where(r["converged"], r["nit"], np.nan)
        lines.append(f"{method:10s} fastest rho = {r['best_rho']}, iterations "
                     + " ".join(str(int(k)) if c else "-" for k, c in
                                zip(r["nit"], r["converged"], strict=True)))
    fig = curves(rhos, series, "momentum rho", f"iterations to ||grad f|| <= {tol:g}",
                 title=f"mushrooms, lam = 3e-2, step 1/L (kappa = {L / mu:.0f})")
    ax = fig.axes[0]
    ax.axvline(rho_hb, color="C0", ls=":", label=f"heavy-ball rho* = {rho_hb:.3f}")
    ax.axvline(rho_nag, color="C1", ls=":", label=f"Nesterov rho = {rho_nag:.3f}")
    ax.legend(fontsize="small")
    head = f"rho: {' '.join(f'{r:.2f}' for r in rhos)}"
    return Study("\n".join([head, *lines]), fig)


def _experiment_heavy_ball(args) -> Study:
    """Heavy ball with alpha*, rho* on the piecewise quadratic, beside GD and Nesterov."""
    from .. import experiments, theory
    from ..minimize import minimize
    from ..plot import trajectories
    from ..problems import PiecewiseQuadratic

    out = experiments.heavy_ball_counterexample(max_iter=300 if args.quick else 2000)
    lines = [f"heavy ball: lr = {out['lr']:.4f}, momentum = {out['momentum']:.4f}"]
    for run in out["runs"]:
        tail = " ".join(f"{v:.3f}" for v in run["tail"][-4:])
        lines.append(f"  x0 = {run['x0']:6.2f}: {'converged' if run['converged'] else 'FAILED'}"
                     f" after {run['nit']} iterations, x_k = {run['final_x']:.4g}, "
                     f"last iterates {tail}")
    failing = [r["x0"] for r in out["runs"] if not r["converged"]]
    x0 = failing[0] if failing else out["runs"][0]["x0"]
    obj = PiecewiseQuadratic()
    L, mu = obj.lipschitz(), obj.strong_convexity()
    lr_nag, rho_nag = theory.nesterov_parameters(L, mu)
    setups = {"heavy ball (alpha*, rho*)": ("heavy-ball", {"lr": out["lr"],
                                                          "momentum": out["momentum"]}),
              "gradient descent (1/L)": ("gd", {"lr": 1.0 / L}),
              "Nesterov (1/L, strongly convex rho)": ("nesterov", {"lr": lr_nag,
                                                                    "momentum": rho_nag})}
    paths = {}
    for label, (method, options) in setups.items():
        xs = []  # the callback sees every iterate, x_0 included
        minimize(obj, np.array([x0]), method=method, tol=0.0, max_iter=100,
                 history_every=0, callback=lambda xk, xs=xs: xs.append(float(xk[0])),
                 **options)
        paths[label] = np.asarray(xs)
    fig = trajectories(paths, f=lambda x: obj.value(np.array([x])), f_star=0.0,
                       title=f"piecewise quadratic (L = 25, mu = 1), x0 = {x0:g}")
    return Study("\n".join(lines), fig)


def _softmax_relu_problem(n: int, d: int, seed: int = 0, weight: float = 0.05):
    from ..problems import SoftmaxReLU

    rng = np.random.default_rng(seed)
    A = rng.standard_normal((n, d)) / np.sqrt(d)
    b = rng.random(n)
    b /= 2.0 * np.linalg.norm(b)  # ||b|| <= 1, as the paper assumes
    return SoftmaxReLU(A, b, np.full(n, weight))


def _experiment_adaptive(args) -> Study:
    """AdaGrad, RMSProp and Adam with a linear-ramp step on the (nonconvex) softmax-ReLU
    regression loss."""
    from .. import experiments, schedules
    from ..plot import convergence

    objective = _softmax_relu_problem(300 if args.quick else 2000, 20 if args.quick else 50)
    max_iter = 200 if args.quick else 2000
    base = {"adagrad": 0.5, "rmsprop": 0.02, "adam": 0.05}
    ramp = max_iter // 2
    lrs = {m: schedules.linear(lr, lr / 10.0, ramp) for m, lr in base.items()}
    x0 = np.full(objective.n_params, 0.1)
    out = experiments.adaptive_study(objective, methods=tuple(base), lrs=lrs, x0=x0,
                                     max_iter=max_iter, tol=1e-10)
    lines = [f"linear ramp: alpha_t from alpha_0 to alpha_0/10 over {ramp} steps"]
    for method, r in out.items():
        lines.append(f"  {method:8s} alpha_0 = {base[method]:g}: {r['nit']} iterations, "
                     f"f = {r['fun']:.8g}")
    fig = convergence(out, title="adaptive methods, linear-ramp steps, softmax-ReLU loss")
    return Study("\n".join(lines), fig)


def _experiment_sketch(args) -> Study:
    """Sketched Newton on the softmax-ReLU loss: convergence against the sketch size."""
    from ..minimize import minimize
    from ..plot import convergence

    n, d = (400, 20) if args.quick else (4000, 50)
    objective = _softmax_relu_problem(n, d, weight=0.5)
    # x = 0 is a stationary point of the ReLU model (every ReLU inactive): start off it.
    x0 = np.full(objective.n_params, 0.5)
    results = {"exact Newton": minimize(objective, x0, method="newton", tol=1e-10,
                                        max_iter=50)}
    sizes = [2 * d, 4 * d, 8 * d, 16 * d]
    lines = []
    for s in sizes:
        res = minimize(objective, x0, method="sketch-newton", sketch_size=s, tol=1e-10,
                       max_iter=50, seed=0)
        results[f"sketch size {s}"] = res
    f_star = min(r.fun for r in results.values())
    for label, res in results.items():
        lines.append(f"  {label:18s} {res.nit:3d} iterations, {res.time:.3f} s, "
                     f"f - f* = {res.fun - f_star:.3e}, {res.message}")
    fig = convergence(results, f_star=f_star,
                      title=f"sketched Newton, softmax-ReLU loss (n = {n}, d = {d})")
    return Study("\n".join(lines), fig)


#: Experiment name -> (runner, one-line description).
EXPERIMENTS = {
    "momentum": (_experiment_momentum,
                 "sweep of rho for heavy ball and Nesterov on L2 logistic regression"),
    "heavy-ball-counterexample": (_experiment_heavy_ball,
                                  "heavy ball with its quadratic-optimal parameters on the "
                                  "piecewise quadratic, beside GD and Nesterov"),
    "adaptive": (_experiment_adaptive,
                 "AdaGrad, RMSProp and Adam with a linear-ramp schedule, nonconvex problem"),
    "sketch-newton": (_experiment_sketch, "sketched Newton: convergence against sketch size"),
}


def cmd_experiment(args) -> int:
    if args.name not in EXPERIMENTS:
        raise CliError(f"unknown experiment {args.name!r}; known: {', '.join(EXPERIMENTS)}")
    runner, description = EXPERIMENTS[args.name]
    print(f"fastopt experiment {args.name}: {description}")
    study = runner(args)
    print(study.summary())
    path = _out_path(args, f"fastopt-{args.name}.png")
    _save_figure(study.plot(), path)
    print(f"plot written to {path.resolve()}")
    return 0


# ---------------------------------------------------------------------------- info
