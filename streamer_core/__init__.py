"""STREAMER in plain PyTorch: streaming hierarchical event segmentation that learns while it watches."""
from streamer_core.config import (
           Config,
           ConfigError,
           LearnConfig,
           ModelConfig,
           load_config,
)
from streamer_core.hierarchy import Event, Hierarchy
from streamer_core.inputs import InputError, to_model_input
from streamer_core.learning import Learner
from streamer_core.model import CheckpointError, StreamerModel
from streamer_core.streaming import Streamer, StreamSource

__all__ = ["Config", "ConfigError", "LearnConfig", "ModelConfig", "load_config", "Event", "Hierarchy",
           "InputError", "to_model_input", "Learner", "CheckpointError", "StreamerModel", "StreamSource",
           "Streamer"]
