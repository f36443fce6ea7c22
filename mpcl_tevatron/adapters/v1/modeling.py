from __future__ import annotations

from contextlib import nullcontext
from typing import Dict, Optional

import torch
from torch import Tensor, nn
from tevatron.modeling import DenseModel, DenseModelForInference, DenseOutput

from ...distributed import global_batch_loss
from ...encoder_config import EncoderConfig
from ...passages import PassageIds


class _Pooled:
    """Pooling from ``EncoderConfig`` (CLS, Tevatron's own, or mean) for both encoders; Tevatron's linear
    pooler (``--add_pooler``) still applies on top of CLS."""

    encoder_config: EncoderConfig
    #: set by the encode driver's ``--bf16``: the encoder's forward under ``torch.autocast`` in bfloat16 (about
    #: 3x the float32 rate on a CPU with AVX512-BF16; representations at cosine > 0.9999 to float32's).
    #: Training leaves it None: there ``--bf16`` is the Hugging Face Trainer's own autocast.
    autocast_dtype: Optional[torch.dtype] = None

    def _encode(self, lm, batch):
        if batch is None:
            return None, None
        # no context at all when unset: a disabled autocast would switch off the Trainer's own (--bf16)
        device = next(lm.parameters()).device.type
        with torch.autocast(device, dtype=self.autocast_dtype) if self.autocast_dtype else nullcontext():
            hidden = lm(**batch, return_dict=True).last_hidden_state
        hidden = hidden.float()  # pool and normalise in float32 whatever the matmuls ran in
        if self.pooler is not None:
            return hidden, self.pooler(q=hidden) if lm is self.lm_q else self.pooler(p=hidden)
        return hidden, self.encoder_config.pool(hidden, batch["attention_mask"])


class TypoDenseModel(_Pooled, DenseModel):
    """Tevatron's ``DenseModel`` whose training forward also encodes the typo'd queries and hands
    ``(q_reps, p_reps, typo_q_reps)`` to the registry's objective at the score temperature of its
    ``encoder_config`` (``--temperature``), with the batch's ``passage_labels`` when it carries passage ids.
    Under ``--negatives_x_device`` all of them are gathered across processes first, so the objective sees the
    global batch."""

    objective: nn.Module
    encoder_config: EncoderConfig

    @classmethod
    def build(cls, model_args, data_args, train_args, objective: nn.Module = None,
              encoder_config: Optional[EncoderConfig] = None, **hf_kwargs):
        model = super().build(model_args, data_args, train_args, **hf_kwargs)
        model.objective = objective
        model.encoder_config = encoder_config or EncoderConfig()
        return model

    def encode_query(self, qry):
        return self._encode(self.lm_q, qry)

    def encode_passage(self, psg):
        return self._encode(self.lm_p, psg)

    def forward(self, query: Dict[str, Tensor] = None, passage: Dict[str, Tensor] = None,
                typo_query: Optional[Dict[str, Tensor]] = None, passage_ids: Optional[PassageIds] = None):
        _, q_reps = self.encode_query(query)
        _, p_reps = self.encode_passage(passage)
        if not self.training or q_reps is None or p_reps is None:
            return DenseOutput(q_reps=q_reps, p_reps=p_reps)
        _, t_reps = self.encode_query(typo_query)
        loss = global_batch_loss(self.objective, q_reps, p_reps, t_reps,
                                 temperature=self.encoder_config.score_temperature,
                                 gather=self.train_args.negatives_x_device,
                                 world_size=getattr(self, "world_size", 1),  # v1 sets it under x-device only
                                 passage_ids=passage_ids)
        return DenseOutput(loss=loss, q_reps=q_reps, p_reps=p_reps)

    def save(self, output_dir: str):
        super().save(output_dir)
        self.encoder_config.save(output_dir)


class TypoDenseModelForInference(_Pooled, DenseModelForInference):
    """Tevatron's inference model with the pooling recorded in the model directory's ``mpcl_config.json``."""

    @classmethod
    def build(cls, model_name_or_path: str = None, model_args=None, data_args=None, train_args=None,
              **hf_kwargs):
        model = super().build(model_name_or_path=model_name_or_path, model_args=model_args, **hf_kwargs)
        model.encoder_config = EncoderConfig.for_model(model_name_or_path or model_args.model_name_or_path)
        return model

    @torch.no_grad()
    def encode_query(self, qry):
        return self._encode(self.lm_q, qry)

    @torch.no_grad()
    def encode_passage(self, psg):
        return self._encode(self.lm_p, psg)
