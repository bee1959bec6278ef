"""autoencoders: train, evaluate and use autoencoders on PyTorch.

    import autoencoders as ae
    run = ae.train("dense", data="mnist", epochs=50, out="runs/dense")
    codes = ae.load_run("runs/dense").encode(images)
"""

from .api import Run, load_run, make_config, resume, train
from .config import DataConfig, ModelConfig, RunConfig, TrainConfig
from .errors import AutoencodersError, ConfigError, DataError, TrainingError
from .registry import create_model, list_models, register_model

__version__ = "0.1.0"

__all__ = [
    "AutoencodersError", "ConfigError", "DataConfig", "DataError", "ModelConfig", "Run", "RunConfig",
    "TrainConfig", "TrainingError", "create_model", "list_models", "load_run", "make_config",
    "register_model", "resume", "train",
]
