"""Objectives against the published formulas, written here a second time as plain loops (float64), values
and gradients to 1e-5; hand-computed cases for the functional core; the registry's behaviour."""

from __future__ import annotations

import math

import pytest
import torch

from mpcl_tevatron.losses import (available_losses, get_loss, multi_positive_infonce, register_loss,
                                  self_teaching_kl)
from mpcl_tevatron.losses import registry as registry_module
from mpcl_tevatron.losses.base import TypoObjective

B, N, K, D = 4, 3, 5, 6


# -- reference implementations: one score at a time ------------------------------------------------------------
def _lse(xs):
    m = max(float(x.detach()) for x in xs)
    return m + torch.log(sum(torch.exp(x - m) for x in xs))


def ref_ce(row, target):
    return -row[target] + _lse(list(row))


def ref_mp(row, positives):
    negs = [row[j] for j in range(len(row)) if j not in positives]
    total = 0
    for p in positives:
        total = total + (row[p] - _lse([row[p]] + negs))
    return -total / len(positives)


def ref_kl(student, teacher, temperature):
    t = torch.softmax(teacher.detach() / temperature, 0)
    s = torch.log_softmax(student, 0)
    return sum(t[j] * (torch.log(t[j]) - s[j]) for j in range(len(t)))


#: the score temperature the reference divides every dot product by (set by the temperature test)
TAU = [1.0]


def dot(a, b):
    return (a * b).sum() / TAU[0]


def ref_passage(q, p):
    return sum(ref_ce(torch.stack([dot(q[i], p[j]) for j in range(len(p))]), i * N) for i in range(B)) / B


def ref_typo_passage(t, p):
    return sum(ref_ce(torch.stack([dot(t[r], p[j]) for j in range(len(p))]), (r // K) * N)
               for r in range(B * K)) / (B * K)


def ref_query_single(q, p):
    return sum(ref_ce(torch.stack([dot(p[i * N], q[j]) for j in range(B)]), i) for i in range(B)) / B


def ref_query_mp(q, p, t):
    cands = list(q) + list(t)
    return sum(ref_mp(torch.stack([dot(p[i * N], c) for c in cands]), [i] + [B + i * K + k for k in range(K)])
               for i in range(B)) / B


def ref_kl_terms(q, p, t, temperature):
    kl_p = kl_q = 0
    for k in range(K):
        tk = [t[i * K + k] for i in range(B)]
        kl_p = kl_p + sum(ref_kl(torch.stack([dot(tk[i], p[j]) for j in range(len(p))]),
                                 torch.stack([dot(q[i], p[j]) for j in range(len(p))]), temperature)
                          for i in range(B)) / B / K
        kl_q = kl_q + sum(ref_kl(torch.stack([dot(p[r], tk[i]) for i in range(B)]),
                                 torch.stack([dot(p[r], q[i]) for i in range(B)]), temperature)
                          for r in range(len(p))) / len(p) / K
    return kl_p, kl_q


def ref_alignment_single(q, t):
    return sum(ref_ce(torch.stack([dot(q[i], t[j * K + k]) for j in range(B)]), i)
               for i in range(B) for k in range(K)) / (B * K)


def ref_alignment_mp(q, t):
    return sum(ref_mp(torch.stack([dot(q[i], t[c]) for c in range(B * K)]), [i * K + k for k in range(K)])
               for i in range(B)) / B


G, BE, S, T = 0.3, 0.4, 0.25, 0.7


def reference(name, q, p, t):
    qp = ref_passage(q, p)
    if name == "infonce":
        return qp
    if name == "dual_infonce":
        return (1 - G) * qp + G * ref_query_single(q, p)
    if name == "mp_infonce":
        return (1 - G) * qp + G * ref_query_mp(q, p, t)
    if name in ("dst", "dst_mp"):
        pq = ref_query_single(q, p) if name == "dst" else ref_query_mp(q, p, t)
        kl_p, kl_q = ref_kl_terms(q, p, t, T)
        return (1 - BE) * ((1 - G) * qp + G * pq) + BE * ((1 - S) * kl_p + S * kl_q)
    if name == "typo_cl":
        return qp + ref_typo_passage(t, p) + ref_alignment_single(q, t)
    if name == "typo_cl_mp":
        return qp + ref_typo_passage(t, p) + ref_alignment_mp(q, t)
    raise KeyError(name)


BUILT_IN = ["infonce", "dual_infonce", "mp_infonce", "dst", "dst_mp", "typo_cl", "typo_cl_mp"]


def _reps(seed=0):
    g = torch.Generator().manual_seed(seed)
    return [torch.randn(n, D, generator=g, dtype=torch.float64, requires_grad=True) for n in (B, B * N, B * K)]


@pytest.mark.parametrize("name", BUILT_IN)
def test_objective_equals_formula_values_and_gradients(name):
    q, p, t = _reps()
    ours = get_loss(name, n_passages=N, gamma=G, beta=BE, sigma=S, temperature=T)(q, p, t)
    grads = torch.autograd.grad(ours, (q, p, t), allow_unused=True)
    q2, p2, t2 = (x.detach().clone().requires_grad_(True) for x in (q, p, t))
    ref = reference(name, q2, p2, t2)
    ref_grads = torch.autograd.grad(ref, (q2, p2, t2), allow_unused=True)
    assert ours.dim() == 0
    assert float(ours.detach()) == pytest.approx(float(ref.detach()), abs=1e-5, rel=1e-5)
    for g, rg in zip(grads, ref_grads):
        if rg is None:
            assert g is None or torch.count_nonzero(g) == 0
        else:
            assert torch.allclose(g, rg, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("name", BUILT_IN)
def test_score_temperature_divides_every_logit_values_and_gradients(name):
    """``global_batch_loss`` at temperature tau (the training step of both adapters) equals the published
    formula with every query-passage, passage-query and query-query score divided by tau, value and gradient
    with respect to the unscaled representations; the self-teaching teacher's own temperature applies on top."""
    from mpcl_tevatron.distributed import global_batch_loss

    tau = 0.05
    q, p, t = _reps(1)
    objective = get_loss(name, n_passages=N, gamma=G, beta=BE, sigma=S, temperature=T)
    ours = global_batch_loss(objective, q, p, t, temperature=tau)
    grads = torch.autograd.grad(ours, (q, p, t), allow_unused=True)
    q2, p2, t2 = (x.detach().clone().requires_grad_(True) for x in (q, p, t))
    TAU[0] = tau
    try:
        ref = reference(name, q2, p2, t2)
    finally:
        TAU[0] = 1.0
    ref_grads = torch.autograd.grad(ref, (q2, p2, t2), allow_unused=True)
    assert float(ours.detach()) == pytest.approx(float(ref.detach()), abs=1e-5, rel=1e-5)
    assert abs(float(ours.detach()) - float(objective(q, p, t).detach())) > 1e-3  # the temperature mattered
    for g, rg in zip(grads, ref_grads):
        if rg is None:
            assert g is None or torch.count_nonzero(g) == 0
        else:
            assert torch.allclose(g, rg, atol=1e-5, rtol=1e-5)


def test_global_batch_loss_at_temperature_one_is_the_objective_bit_for_bit():
    from mpcl_tevatron.distributed import global_batch_loss

    q, p, t = _reps(2)
    objective = get_loss("dst_mp", n_passages=N)
    assert torch.equal(global_batch_loss(objective, q, p, t), objective(q, p, t))


def test_multi_positive_infonce_hand_computed():
    scores = torch.tensor([[1.0, 2.0, 0.0], [0.0, 0.0, 3.0]])
    mask = torch.tensor([[True, True, False], [False, False, True]])
    row0 = -0.5 * ((1 - math.log(math.e + 1)) + (2 - math.log(math.e ** 2 + 1)))
    row1 = -(3 - math.log(math.e ** 3 + 2))
    per_row = multi_positive_infonce(scores, mask, reduction="none")
    assert per_row.tolist() == pytest.approx([row0, row1], abs=1e-6)
    assert float(multi_positive_infonce(scores, mask)) == pytest.approx((row0 + row1) / 2, abs=1e-6)
    assert float(multi_positive_infonce(scores, mask, reduction="sum")) == pytest.approx(row0 + row1, abs=1e-6)


def test_multi_positive_infonce_single_positive_is_cross_entropy():
    g = torch.Generator().manual_seed(1)
    scores = torch.randn(5, 7, generator=g)
    target = torch.tensor([0, 3, 6, 2, 2])
    mask = torch.nn.functional.one_hot(target, 7).bool()
    assert torch.allclose(multi_positive_infonce(scores, mask), torch.nn.functional.cross_entropy(scores, target))


def test_multi_positive_infonce_positives_do_not_compete():
    # Raising one positive's score must not raise the loss of another positive (they are not in each
    # other's denominator, unlike SupCon's L_out).
    base = torch.tensor([[1.0, 1.0, 0.5]], dtype=torch.float64)
    mask = torch.tensor([[True, True, False]])
    lifted = torch.tensor([[1.0, 5.0, 0.5]], dtype=torch.float64)
    log_p = lambda s, j: s[0, j] - torch.logaddexp(s[0, j], s[0, 2])  # noqa: E731  positive j vs the negative
    # positive 0's term is the same before and after positive 1 is lifted: only positive 1's term changes
    expected = -(log_p(base, 0) + log_p(lifted, 1)) / 2
    assert float(multi_positive_infonce(lifted, mask)) == pytest.approx(float(expected), abs=1e-12)
    # SupCon's L_out, with both positives in every denominator, is another number
    supcon = -torch.log_softmax(lifted[0], 0)[:2].mean()
    assert abs(float(multi_positive_infonce(lifted, mask)) - float(supcon)) > 0.5
    assert float(multi_positive_infonce(lifted, mask)) < float(multi_positive_infonce(base, mask))


def test_multi_positive_infonce_stable_for_large_logits_and_all_positive_rows():
    scores = torch.tensor([[1e4, -1e4, 3e4], [50.0, 60.0, 70.0]], requires_grad=True)
    mask = torch.tensor([[True, False, False], [True, True, True]])
    loss = multi_positive_infonce(scores, mask, reduction="none")
    assert torch.isfinite(loss).all()
    assert float(loss[0].detach()) == pytest.approx(2e4)  # -(1e4 - 3e4)
    assert float(loss[1].detach()) == 0.0  # no negatives: every positive has probability 1
    loss.sum().backward()
    assert torch.isfinite(scores.grad).all()


def test_multi_positive_infonce_rejects_rows_without_positive_and_bad_shapes():
    with pytest.raises(ValueError, match=r"rows \[1\] have no positive"):  # names the rows, not others
        multi_positive_infonce(torch.zeros(2, 3), torch.tensor([[True, False, False], [False, False, False]]))
    with pytest.raises(ValueError, match=r"rows \[0, 2\] have no positive"):  # a row with one positive is fine
        multi_positive_infonce(torch.zeros(3, 2), torch.tensor([[False, False], [True, True], [False, False]]))
    with pytest.raises(ValueError, match=r"rows \[0, 1, 2, 3, 4, 5, 6, 7, 8, 9\] have"):  # the first 10 named
        multi_positive_infonce(torch.zeros(12, 2), torch.zeros(12, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match=r"\[n, m\]"):
        multi_positive_infonce(torch.zeros(2, 3), torch.zeros(3, 2, dtype=torch.bool))
    with pytest.raises(ValueError, match="reduction"):
        multi_positive_infonce(torch.zeros(1, 2), torch.tensor([[True, False]]), reduction="max")


def test_self_teaching_kl_is_zero_for_identical_and_matches_torch_kl():
    g = torch.Generator().manual_seed(2)
    s = torch.randn(3, 4, generator=g)
    assert float(self_teaching_kl(s, s)) == pytest.approx(0.0, abs=1e-7)
    t = torch.randn(3, 4, generator=g)
    expected = sum(ref_kl(s[i].double(), t[i].double(), 2.0) for i in range(3)) / 3
    assert float(self_teaching_kl(s, t, temperature=2.0)) == pytest.approx(float(expected), abs=1e-6)


def test_self_teaching_kl_rows_at_very_different_scales():
    """Each row's log-sum-exp is shifted by its own maximum: rows whose scores lie 1e4 apart are each exact (one
    shift for the whole tensor would underflow the lower row to log 0), along either dimension."""
    s = torch.tensor([[1e4, 1e4 + 1.0, 1e4 - 2.0], [0.0, 1.0, -2.0]], dtype=torch.float64, requires_grad=True)
    t = torch.tensor([[0.5, -0.5, 1.0], [0.5, -0.5, 1.0]], dtype=torch.float64)
    expected = sum(ref_kl(row - row.max(), t[0], 1.0) for row in s.detach()) / 2
    loss = self_teaching_kl(s, t)
    assert float(loss.detach()) == pytest.approx(float(expected), abs=1e-6)
    loss.backward()
    assert torch.isfinite(s.grad).all()
    assert float(self_teaching_kl(s.T, t.T, dim=0).detach()) == pytest.approx(float(expected), abs=1e-6)


def test_published_defaults_and_named_range_errors():
    """Defaults are the papers' (Tevatron's 8 passages, gamma = beta = 0.5, sigma = 0.2, teacher temperature 1),
    and an out-of-range weight or temperature is refused naming the hyperparameter."""
    from mpcl_tevatron.losses.registry import get_loss_class

    dst = get_loss("dst_mp")
    assert (dst.n_passages, dst.gamma, dst.beta, dst.sigma, dst.temperature) == (8, 0.5, 0.5, 0.2, 1.0)
    assert all(get_loss_class(name)().n_passages == 8 for name in BUILT_IN)  # the classes' own defaults too
    assert get_loss("dual_infonce").gamma == get_loss("mp_infonce").gamma == 0.5
    assert get_loss("infonce").n_passages == get_loss("typo_cl").n_passages == 8
    for name, bad in (("beta", 1.5), ("sigma", -0.1), ("gamma", 2.0)):
        with pytest.raises(ValueError, match=f"^{name} must be in \\[0, 1\\], got {bad}$"):
            get_loss("dst", **{name: bad})
    for bad in (0.0, -1.0):
        with pytest.raises(ValueError, match=f"temperature must be > 0, got {bad}"):
            get_loss("dst", temperature=bad)
    with pytest.raises(ValueError, match="n_passages must be >= 1, got 0"):
        get_loss("infonce", n_passages=0)
    q, p = torch.randn(B, D), torch.randn(B, D)
    assert torch.isfinite(get_loss("infonce", n_passages=1)(q, p))  # positives only, in-batch negatives


def test_teacher_is_detached_in_self_teaching():
    q, p, t = _reps(3)
    loss = get_loss("dst", n_passages=N, beta=1.0, sigma=0.0)(q, p, t)  # KL_p only
    gq, gt = torch.autograd.grad(loss, (q, t))
    assert torch.count_nonzero(gq) == 0  # clean queries are only the teacher here
    assert torch.count_nonzero(gt) > 0


def test_typo_cl_mp_equals_typo_cl_for_one_variant():
    g = torch.Generator().manual_seed(4)
    q, p, t = torch.randn(B, D, generator=g), torch.randn(B * N, D, generator=g), torch.randn(B, D, generator=g)
    a = get_loss("typo_cl", n_passages=N)(q, p, t)
    b = get_loss("typo_cl_mp", n_passages=N)(q, p, t)
    assert torch.allclose(a, b, atol=1e-6)


def test_mp_infonce_with_gamma_zero_is_infonce():
    q, p, t = _reps(5)
    assert torch.allclose(get_loss("mp_infonce", n_passages=N, gamma=0.0)(q, p, t),
                          get_loss("infonce", n_passages=N)(q, p, t))


def test_objectives_check_their_inputs():
    q, p, t = _reps()
    with pytest.raises(ValueError, match="^mp_infonce needs typo'd query representations"):
        get_loss("mp_infonce", n_passages=N)(q, p, None)
    with pytest.raises(ValueError, match=f"^infonce: p_reps has {B * N} rows; expected B \\* n_passages = "
                                         f"{B} \\* {N + 1}$"):
        get_loss("infonce", n_passages=N + 1)(q, p, t)
    with pytest.raises(ValueError, match=f"^dst: typo_q_reps has {B * K - 1} rows, not a multiple of B = {B}$"):
        get_loss("dst", n_passages=N)(q, p, t[:-1])
    labels = torch.zeros(B, B * N - 1, dtype=torch.int8)
    for name in BUILT_IN:  # every objective checks the passage labels it is given
        with pytest.raises(ValueError) as err:
            get_loss(name, n_passages=N)(q, p, t, passage_labels=labels)
        assert str(err.value) == (f"{name}: passage_labels is ({B}, {B * N - 1}); expected [B, B * n_passages] = "
                                  f"[{B}, {B * N}]")
    # dual_infonce reads no variant: none given, or some given, is the same loss (and none is not an error)
    assert torch.equal(get_loss("dual_infonce", n_passages=N)(q, p, None),
                       get_loss("dual_infonce", n_passages=N)(q, p, t))
    # one query with one variant: a single typo'd row is a variant, not "none"
    assert torch.isfinite(get_loss("mp_infonce", n_passages=N)(q[:1], p[:N], t[:1]))
    with pytest.raises(ValueError, match="gamma"):
        get_loss("mp_infonce", gamma=1.5)
    with pytest.raises(TypeError, match="takes no gama"):
        get_loss("mp_infonce", gama=0.5)  # a misspelt hyperparameter is not silently ignored


def test_each_objective_takes_only_the_hyperparameters_it_declares():
    from mpcl_tevatron.arguments import ObjectiveArguments
    from mpcl_tevatron.io import InputError
    from mpcl_tevatron.losses.registry import accepted_hyperparameters, get_loss_class

    declared = {name: accepted_hyperparameters(get_loss_class(name)) for name in BUILT_IN}
    assert declared["infonce"] == declared["typo_cl"] == {"n_passages"}
    assert declared["dual_infonce"] == {"n_passages", "gamma"}
    # the objectives with a multi-positive term take its form
    assert declared["typo_cl_mp"] == {"n_passages", "form"}
    assert declared["mp_infonce"] == {"n_passages", "gamma", "form"}
    assert declared["dst_mp"] == {"n_passages", "gamma", "beta", "sigma", "temperature", "form"}
    # the named flags go to any objective: infonce simply does not get gamma
    assert get_loss("infonce", n_passages=N, gamma=0.3, beta=0.1, sigma=0.1, temperature=2.0).n_passages == N
    assert get_loss("dst", n_passages=N, gamma=0.3).gamma == 0.3
    # --loss_kwargs is stricter: a key the objective does not declare is an error naming what it accepts
    args = ObjectiveArguments(gamma=0.2)
    assert args.hyperparameters(N, "mp_infonce", '{"gamma": 0.7}')["gamma"] == 0.7
    with pytest.raises(InputError, match="infonce takes no gamma; it accepts nothing but n_passages"):
        args.hyperparameters(N, "infonce", '{"gamma": 0.7}')
    with pytest.raises(InputError, match="mp_infonce takes no beta; it accepts form, gamma"):
        args.hyperparameters(N, "mp_infonce", '{"beta": 0.7}')
    with pytest.raises(InputError) as err:  # several names: each list joined with ", "
        args.hyperparameters(N, "dst", '{"tau": 1, "alpha": 2}')
    assert str(err.value) == "--loss_kwargs: dst takes no alpha, tau; it accepts beta, gamma, sigma, temperature"
    with pytest.raises(InputError, match="expected a JSON object"):
        args.hyperparameters(N, "mp_infonce", '[1]')


def test_registry_lists_built_ins_and_unknown_name_lists_known():
    assert set(BUILT_IN) <= set(available_losses())
    with pytest.raises(KeyError) as err:
        get_loss("mp_infonse")
    message = str(err.value)
    assert "mp_infonse" in message and all(name in message for name in BUILT_IN)


def test_register_loss_decorator_and_duplicate_names():
    @register_loss("test_only_zero")
    class Zero(TypoObjective):
        uses_typos = False

        def forward(self, q_reps, p_reps, typo_q_reps=None):
            return (q_reps.sum() * 0)

    @register_loss("test_only_open")
    class Open(Zero):  # a constructor with **kwargs takes every key
        def __init__(self, n_passages=8, **kwargs):
            super().__init__(n_passages)
            self.kwargs = kwargs

    try:
        assert "test_only_zero" in available_losses()
        assert float(get_loss("test_only_zero", n_passages=N)(*_reps()).detach()) == 0.0
        assert Zero.loss_name == "test_only_zero"
        assert get_loss("test_only_open", n_passages=N, anything=1).kwargs == {"anything": 1}
        with pytest.raises(ValueError, match="already registered"):
            register_loss("test_only_zero")(type("Other", (TypoObjective,), {}))
    finally:
        registry_module._REGISTRY.pop("test_only_zero")
        registry_module._REGISTRY.pop("test_only_open")


def test_entry_point_objectives_are_discovered(monkeypatch):
    class FakeEntryPoint:
        name, value = "from_another_package", "pkg:Loss"

        def load(self):
            class Loss(TypoObjective):
                uses_typos = False

                def forward(self, q_reps, p_reps, typo_q_reps=None):
                    return q_reps.sum() * 0 + 7.0
            return Loss

    class Broken(FakeEntryPoint):
        name, value = "broken_plugin", "missing:Thing"

        def load(self):
            raise ImportError("no module named missing")

    class Shadowing(FakeEntryPoint):  # the built-in of that name wins; the entry point is never loaded
        name, value = "infonce", "pkg:Other"

        def load(self):
            raise AssertionError("a built-in name was loaded from an entry point")

    # the good one last: a broken or shadowing plugin before it must not stop the discovery
    monkeypatch.setattr(registry_module, "entry_points", lambda group: [Broken(), Shadowing(), FakeEntryPoint()]
                        if group == "tevatron.losses" else [])
    monkeypatch.setattr(registry_module, "_entry_points_loaded", False)
    try:
        names = available_losses()
        assert "from_another_package" in names and "broken_plugin" not in names
        assert type(get_loss("infonce")).__module__ == "mpcl_tevatron.losses.infonce"
        assert float(get_loss("from_another_package", n_passages=N)(*_reps()).detach()) == 7.0
    finally:
        registry_module._REGISTRY.pop("from_another_package", None)


def test_installed_distribution_declares_the_entry_points():
    from importlib.metadata import entry_points

    declared = {ep.name for ep in entry_points(group="tevatron.losses")}
    assert set(BUILT_IN) <= declared


def test_an_objective_that_reads_variants_refuses_an_empty_variant_batch():
    q, p = torch.randn(2, 4), torch.randn(4, 4)
    with pytest.raises(ValueError, match="needs typo'd query representations"):
        get_loss("mp_infonce", n_passages=2)(q, p, torch.randn(0, 4))


# -- the forms of the multi-positive term (functional.MULTI_POSITIVE_FORMS) -------------------------------------
def ref_supcon_out(row, positives):
    return -sum(row[p] - _lse(list(row)) for p in positives) / len(positives)


def ref_log_sum(row, positives):
    return -(_lse([row[p] for p in positives]) - _lse(list(row)))


def ref_sample_one(row, positives, drawn):
    others = [j for j in range(len(row)) if j not in positives]
    return -(row[drawn] - _lse([row[drawn]] + [row[j] for j in others]))


FORM_REFERENCES = {"eq4": ref_mp, "supcon_out": ref_supcon_out, "log_sum": ref_log_sum}


def _form_case(seed=0):
    g = torch.Generator().manual_seed(seed)
    scores = torch.randn(5, 7, generator=g, dtype=torch.float64) * 3
    mask = torch.zeros(5, 7, dtype=torch.bool)
    for i, cols in enumerate([[0], [1, 2], [0, 3, 6], [2, 4, 5, 6], [5]]):
        mask[i, cols] = True
    return scores, mask


@pytest.mark.parametrize("form", sorted(FORM_REFERENCES))
def test_each_multi_positive_form_equals_its_formula_values_and_gradients(form):
    scores, mask = _form_case()
    ours_in = scores.clone().requires_grad_(True)
    ours = multi_positive_infonce(ours_in, mask, form=form)
    (grad,) = torch.autograd.grad(ours, ours_in)
    ref_in = scores.clone().requires_grad_(True)
    ref = sum(FORM_REFERENCES[form](ref_in[i], torch.nonzero(mask[i]).flatten().tolist()) for i in range(5)) / 5
    (ref_grad,) = torch.autograd.grad(ref, ref_in)
    assert float(ours.detach()) == pytest.approx(float(ref.detach()), rel=1e-10)
    assert torch.allclose(grad, ref_grad, atol=1e-10)


def test_sample_one_draws_one_positive_per_row_with_the_generator_and_averages_to_eq4():
    scores, mask = _form_case()
    ours_in = scores.clone().requires_grad_(True)
    loss = multi_positive_infonce(ours_in, mask, form="sample_one", generator=torch.Generator().manual_seed(3),
                                  reduction="none")
    drawn = torch.multinomial(mask.double(), 1, generator=torch.Generator().manual_seed(3)).flatten().tolist()
    assert all(mask[i, d] for i, d in enumerate(drawn))
    ref_in = scores.clone().requires_grad_(True)
    ref = torch.stack([ref_sample_one(ref_in[i], torch.nonzero(mask[i]).flatten().tolist(), drawn[i])
                       for i in range(5)])
    assert torch.allclose(loss, ref, atol=1e-10)
    (grad,) = torch.autograd.grad(loss.sum(), ours_in)
    (ref_grad,) = torch.autograd.grad(ref.sum(), ref_in)
    assert torch.allclose(grad, ref_grad, atol=1e-10)  # the unsampled positives get no gradient: neither side
    # the same generator state, the same draws; its mean over many draws is eq4 (exactly eq4's per-positive mean)
    again = multi_positive_infonce(scores, mask, form="sample_one", generator=torch.Generator().manual_seed(3),
                                   reduction="none")
    assert torch.equal(again, loss.detach())
    g = torch.Generator().manual_seed(0)
    mean = torch.stack([multi_positive_infonce(scores, mask, form="sample_one", generator=g) for _ in range(4000)])
    assert float(mean.mean()) == pytest.approx(float(multi_positive_infonce(scores, mask)), rel=0.01)


@pytest.mark.parametrize("form", ["eq4", "supcon_out", "log_sum", "sample_one"])
def test_with_one_positive_every_form_is_infonce(form):
    scores, _ = _form_case()
    targets = torch.tensor([0, 3, 6, 2, 5])
    one = torch.nn.functional.one_hot(targets, 7).bool()
    ours = multi_positive_infonce(scores, one, form=form)
    assert float(ours) == pytest.approx(float(torch.nn.functional.cross_entropy(scores, targets)), rel=1e-12)


def test_the_forms_differ_where_they_should():
    """Several positives: eq4 never puts a positive in another's denominator, so it is the smallest of eq4 and
    supcon_out; log_sum is at most supcon_out (log of a mean of probabilities >= mean of their logs)."""
    scores, mask = _form_case()
    value = {f: float(multi_positive_infonce(scores, mask, form=f, reduction="none")[3]) for f in
             ("eq4", "supcon_out", "log_sum")}
    assert value["eq4"] < value["supcon_out"] and value["log_sum"] < value["supcon_out"]
    assert len({round(v, 6) for v in value.values()}) == 3
    with pytest.raises(ValueError, match="form must be one of eq4, supcon_out, log_sum, sample_one, got 'l_in'"):
        multi_positive_infonce(scores, mask, form="l_in")


@pytest.mark.parametrize("name", ["mp_infonce", "dst_mp", "typo_cl_mp"])
@pytest.mark.parametrize("form", ["supcon_out", "log_sum"])
def test_the_objectives_multi_positive_term_takes_the_form(name, form, monkeypatch):
    """An objective built with ``form`` computes its multi-positive term in that form (the reference's term
    swapped for the form's formula), values and gradients."""
    q, p, t = _reps()
    ours = get_loss(name, n_passages=N, gamma=G, beta=BE, sigma=S, temperature=T, form=form)(q, p, t)
    assert get_loss(name, n_passages=N, form=form).form == form
    grads = torch.autograd.grad(ours, (q, p, t))
    monkeypatch.setitem(globals(), "ref_mp", FORM_REFERENCES[form])
    q2, p2, t2 = (x.detach().clone().requires_grad_(True) for x in (q, p, t))
    ref = reference(name, q2, p2, t2)
    ref_grads = torch.autograd.grad(ref, (q2, p2, t2))
    assert float(ours.detach()) == pytest.approx(float(ref.detach()), abs=1e-5, rel=1e-5)
    for g, rg in zip(grads, ref_grads):
        assert torch.allclose(g, rg, atol=1e-5, rtol=1e-5)
    eq4 = get_loss(name, n_passages=N, gamma=G, beta=BE, sigma=S, temperature=T)(q, p, t)
    assert not torch.isclose(ours, eq4)


def test_the_form_is_a_named_flag_and_a_loss_kwarg():
    from mpcl_tevatron.arguments import ObjectiveArguments
    from mpcl_tevatron.io import InputError

    named = ObjectiveArguments(multi_positive_form="log_sum")
    assert get_loss("dst_mp", **named.hyperparameters(N, "dst_mp")).form == "log_sum"
    assert get_loss("infonce", **named.hyperparameters(N, "infonce")).n_passages == N  # not its hyperparameter
    kwargs = ObjectiveArguments().hyperparameters(N, "mp_infonce", '{"form": "sample_one"}')
    assert get_loss("mp_infonce", **kwargs).form == "sample_one"
    with pytest.raises(InputError, match="form must be text, got 3"):
        ObjectiveArguments().hyperparameters(N, "mp_infonce", '{"form": 3}')
    with pytest.raises(ValueError, match="form must be one of"):
        get_loss("typo_cl_mp", form="nope")


def test_passage_mask_is_the_upstream_series_form_of_the_labels():
    """The upstream series' driver (patch 4) hands a loss ``passage_mask`` [B*n] (1 a positive of its group's
    query, -1 a repeat, 0 a negative) at --positives_per_query > 1. Every objective takes it, as the label
    matrix written out by hand: own positives 1, repeats -1 in every row, the rest 0 (no ids: no false-negative
    masking)."""
    import inspect

    from mpcl_tevatron.passages import labels_from_passage_mask

    mask = torch.tensor([1, 1, 0, 1, -1, 0])  # query 0: two positives; query 1: one, and a repeat
    expected = torch.tensor([[1, 1, 0, 0, -1, 0],
                             [0, 0, 0, 1, -1, 0]], dtype=torch.int8)
    assert torch.equal(labels_from_passage_mask(mask, 3), expected)
    with pytest.raises(ValueError, match="multiple of n_passages"):
        labels_from_passage_mask(mask, 4)
    torch.manual_seed(0)
    q, p, v = torch.randn(2, 8), torch.randn(6, 8), torch.randn(2 * 3, 8)
    for name in available_losses():
        loss = get_loss(name, n_passages=3)
        assert "passage_mask" in inspect.signature(loss.forward).parameters, name  # what the driver checks
        assert torch.equal(loss(q, p, v, passage_mask=mask), loss(q, p, v, passage_labels=expected)), name
        assert not torch.equal(loss(q, p, v, passage_mask=mask), loss(q, p, v)), name
        with pytest.raises(ValueError, match="not both"):
            loss(q, p, v, passage_labels=expected, passage_mask=mask)
