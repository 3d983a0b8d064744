"""BatchedOptimizer refuses invalid hyperparameters with a precise ValueError, as torch.optim does."""
import math

import pytest
import torch

from explorer.core.optim import BatchedOptimizer


@pytest.mark.parametrize("name,value,needle", [
    ("lr", -1.0, "Invalid lr"), ("wd", -0.1, "Invalid wd"), ("beta1", 1.0, "Invalid beta1"),
    ("beta1", -0.1, "Invalid beta1"), ("beta2", 1.5, "Invalid beta2"), ("beta2", 1.0, "Invalid beta2"),
    ("eps", -1.0, "Invalid eps"), ("momentum", -0.5, "Invalid momentum"), ("lr", math.nan, "Invalid lr"),
    ("wd", math.inf, "Invalid wd"),
])
def test_invalid_hyperparameters_are_refused_like_torch_optim(name, value, needle):
    p = torch.zeros(2, 3)
    with pytest.raises(ValueError, match=needle):
        BatchedOptimizer([p], "adamw-torch", **{name: value})


def test_the_message_names_the_run_and_the_value():
    with pytest.raises(ValueError, match=r"Invalid beta2 \(run 1\): 1.5; expected β2 in \[0, 1\)"):
        BatchedOptimizer([torch.zeros(3, 2)], "adam-l2", beta2=[0.999, 1.5, 0.9])


def test_what_torch_optim_accepts_is_accepted():
    for kw in ({"lr": 0.0}, {"wd": 0.0}, {"beta1": 0.0}, {"beta2": 0.0}, {"eps": 0.0}, {"momentum": 0.0}):
        BatchedOptimizer([torch.zeros(2, 3)], "adamw", **kw)
        torch.optim.AdamW([torch.zeros(3, requires_grad=True)], **{
            {"wd": "weight_decay", "beta1": "betas", "beta2": "betas", "momentum": "lr"}.get(k, k):
            ((v, 0.999) if k == "beta1" else (0.9, v) if k == "beta2" else v) for k, v in kw.items()})
