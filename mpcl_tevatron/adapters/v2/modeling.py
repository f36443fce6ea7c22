from __future__ import annotations

from typing import Dict, Optional

from torch import Tensor, nn
from tevatron.retriever.modeling import DenseModel, EncoderOutput

from ...distributed import global_batch_loss
from ...encoder_config import EncoderConfig
from ...passages import PassageIds


class TypoDenseModel(DenseModel):
    """v2's ``DenseModel`` (its pooling and normalisation) whose training forward also encodes the typo'd
    queries and hands ``(q_reps, p_reps, typo_q_reps)`` to the registry's objective. Under DDP all three are
    gathered across processes first (as v2 gathers q and p), so the objective sees the global batch.

    v2's ``--temperature`` divides every retrieval score (``distributed.global_batch_loss``, shared with v1).
    """

    objective: nn.Module
    encoder_config: EncoderConfig

    @classmethod
    def build(cls, model_args, train_args, objective: nn.Module = None,
              encoder_config: Optional[EncoderConfig] = None, **hf_kwargs):
        model = super().build(model_args, train_args, **hf_kwargs)
        model.objective = objective
        model.encoder_config = encoder_config or EncoderConfig()
        return model

    def forward(self, query: Dict[str, Tensor] = None, passage: Dict[str, Tensor] = None,
                typo_query: Optional[Dict[str, Tensor]] = None, passage_ids: Optional[PassageIds] = None):
        if not self.training or not query or not passage:
            return super().forward(query=query, passage=passage)
        q_reps, p_reps = self.encode_query(query), self.encode_passage(passage)
        t_reps = self.encode_query(typo_query) if typo_query else None
        # v2's trainer divides the DDP-scaled loss back for logging
        loss = global_batch_loss(self.objective, q_reps, p_reps, t_reps, temperature=self.temperature,
                                 gather=self.is_ddp, world_size=self.world_size if self.is_ddp else 1,
                                 passage_ids=passage_ids.to(q_reps.device) if passage_ids is not None else None)
        return EncoderOutput(loss=loss, q_reps=q_reps, p_reps=p_reps)
