"""Training objectives, one class a file, each registered by name (``--loss NAME``).

=============  ===================  ==========================================================
name           file                 what
=============  ===================  ==========================================================
infonce        infonce.py           Tevatron's InfoNCE (DR; DR+Aug with --typo_augment_prob)
dual_infonce   dual_infonce.py      DR+DL: passage retrieval + query retrieval, one positive
mp_infonce     mp_infonce.py        DR+DLM: query retrieval with clean + K typo'd positives
dst            dst.py               DR+DL+ST: dual learning + dual self-teaching (KL)
dst_mp         dst_mp.py            DR+DLM+ST: dst with the multi-positive query retrieval
typo_cl        typo_cl.py           DR+Aug+CL: clean query retrieves its typo'd variant
typo_cl_mp     typo_cl_mp.py        typo_cl with all K variants as positives
=============  ===================  ==========================================================

The math they share is in ``functional.py`` (``multi_positive_infonce`` among it).
"""

from .base import TypoObjective
from .functional import multi_positive_infonce, self_teaching_kl
from .registry import (ENTRY_POINT_GROUP, UnknownLossError, available_losses, get_loss, get_loss_class,
                       register_loss)
# Importing the modules registers the built-in objectives.
from .infonce import InfoNCE
from .dual_infonce import DualInfoNCE
from .mp_infonce import MultiPositiveInfoNCE
from .dst import DualSelfTeaching
from .dst_mp import DualSelfTeachingMultiPositive
from .typo_cl import TypoContrastive
from .typo_cl_mp import TypoContrastiveMultiPositive

__all__ = [
    "ENTRY_POINT_GROUP", "TypoObjective", "UnknownLossError", "available_losses", "get_loss", "get_loss_class",
    "multi_positive_infonce", "register_loss", "self_teaching_kl",
    "InfoNCE", "DualInfoNCE", "MultiPositiveInfoNCE", "DualSelfTeaching", "DualSelfTeachingMultiPositive",
    "TypoContrastive", "TypoContrastiveMultiPositive",
]
