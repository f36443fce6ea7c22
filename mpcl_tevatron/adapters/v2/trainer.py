from __future__ import annotations

from tevatron.retriever.trainer import TevatronTrainer


class TypoTevatronTrainer(TevatronTrainer):
    """v2's ``TevatronTrainer`` feeding the typo'd batch to the model and saving ``mpcl_config.json`` (pooling,
    normalisation, prefixes) beside the weights, which the plugin's encode driver reads."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        query, passage, typo_query = inputs
        outputs = model(query=query, passage=passage, typo_query=typo_query)
        return (outputs.loss, outputs) if return_outputs else outputs.loss

    def _save(self, output_dir=None, state_dict=None):
        super()._save(output_dir, state_dict=state_dict)
        self.accelerator.unwrap_model(self.model).encoder_config.save(output_dir or self.args.output_dir)
