from __future__ import annotations

import os
from typing import Optional

from tevatron.trainer import DenseTrainer
from transformers import Trainer

from ...training import TypoTrainerMixin


class TypoDenseTrainer(TypoTrainerMixin, DenseTrainer):
    """Tevatron's ``DenseTrainer`` feeding the typo'd batch to the model, with the transformers-5 signatures."""

    def _prepare_inputs(self, inputs):
        *batch, passage_ids = inputs
        return [None if x is None else Trainer._prepare_inputs(self, x) for x in batch] + [
            None if passage_ids is None else passage_ids.to(self.args.device)]

    def get_train_dataloader(self):
        # The HF Trainer's loader: accelerate shards it across processes (Tevatron v1's bare one is not).
        return Trainer.get_train_dataloader(self)

    def _save(self, output_dir: Optional[str] = None, state_dict=None):
        output_dir = output_dir if output_dir is not None else self.args.output_dir
        if not self.args.should_save:
            return
        os.makedirs(output_dir, exist_ok=True)
        self.accelerator.unwrap_model(self.model).save(output_dir)
