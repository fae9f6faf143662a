"""Tests of models.methods: the SimCLR/BYOL strategies and the EMA target update."""

from __future__ import annotations

import copy

import pytest
import torch

from models.methods import BYOLMethod, SimCLRMethod, ema_update, make_method


def test_ema_update():
    online = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.BatchNorm1d(2))
    target = copy.deepcopy(online)
    with torch.no_grad():
        for p in online.parameters():
            p.add_(1.0)
    before = [p.clone() for p in target.parameters()]
    ema_update(target, online, 0.9)
    for b, t, o in zip(before, target.parameters(), online.parameters(), strict=True):
        assert torch.allclose(t, 0.9 * b + 0.1 * o)


def _views(config, n=4):
    gen = torch.Generator().manual_seed(0)
    shape = (n, len(config.bands), config.crop, config.crop)
    return torch.randn(shape, generator=gen), torch.randn(shape, generator=gen)


@pytest.mark.parametrize(
    ("method", "cls"), [("simclr", SimCLRMethod), ("byol", BYOLMethod)]
)
def test_make_method_gives_a_finite_loss_and_round_trips_its_state(
    method, cls, tiny_config
):
    config = tiny_config(method=method, bands=["g", "r"], cutout_size=32)
    strategy = make_method(config, torch.device("cpu"))
    assert isinstance(strategy, cls)
    loss = strategy.loss(*_views(config))
    assert loss.ndim == 0 and torch.isfinite(loss)
    loss.backward()
    state = strategy.state_dict()
    assert set(state) == (
        {"model", "predictor", "target"} if method == "byol" else {"model"}
    )
    again = make_method(config, torch.device("cpu"))
    again.load_state_dict(state)
    for key, value in again.state_dict()["model"].items():
        assert torch.equal(value, state["model"][key])


def test_byol_trains_predictor_but_not_target_and_moves_target_after_step(
    tiny_config,
):
    config = tiny_config(method="byol", bands=["g"], cutout_size=32, byol_tau=0.5)
    strategy = BYOLMethod(config, torch.device("cpu"))
    trained = {id(p) for p in strategy.parameters()}
    assert all(id(p) in trained for p in strategy.predictor.parameters())
    assert not any(id(p) in trained for p in strategy.target.parameters())
    with torch.no_grad():
        for p in strategy.model.parameters():
            p.add_(1.0)
    before = [p.clone() for p in strategy.target.parameters()]
    strategy.after_step(0, 100)
    after = list(strategy.target.parameters())
    assert any(not torch.equal(b, a) for b, a in zip(before, after, strict=True))
