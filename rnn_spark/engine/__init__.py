"""Pure NumPy engine: cells, model, losses, truncated BPTT, gradient checks. No Spark, no I/O."""

from .config import ModelConfig, ModelConfigError
from .mixed import MixedInputs
from .model import Model
from .tbptt import iter_windows, train_minibatch

__all__ = ["MixedInputs", "Model", "ModelConfig", "ModelConfigError", "iter_windows", "train_minibatch"]
