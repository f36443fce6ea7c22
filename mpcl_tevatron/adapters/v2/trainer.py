from __future__ import annotations

from tevatron.retriever.trainer import TevatronTrainer

from ...training import TypoTrainerMixin


class TypoTevatronTrainer(TypoTrainerMixin, TevatronTrainer):
    """v2's ``TevatronTrainer`` feeding the typo'd batch to the model and saving ``mpcl_config.json`` (pooling,
    normalisation, prefixes) beside the weights, which the plugin's encode driver reads."""

    def _save(self, output_dir=None, state_dict=None):
        super()._save(output_dir, state_dict=state_dict)
        self.accelerator.unwrap_model(self.model).encoder_config.save(output_dir or self.args.output_dir)
