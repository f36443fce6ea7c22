"""Every registered objective on random representations: 4 queries, 3 passages each, 5 typo'd variants.
Run: python examples/objectives.py"""

import torch

from mpcl_tevatron.losses import available_losses, get_loss

torch.manual_seed(0)
B, N, K, D = 4, 3, 5, 16
q_reps, p_reps, typo_q_reps = torch.randn(B, D), torch.randn(B * N, D), torch.randn(B * K, D)
for name in available_losses():
    loss = get_loss(name, n_passages=N, gamma=0.5, beta=0.5, sigma=0.2, temperature=1.0)
    print(f"{name:>12}: {loss(q_reps, p_reps, typo_q_reps).item():.4f}")
