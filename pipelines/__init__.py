"""STREAMER on Ray: the jobs, and the one-line inference `InferenceModel` (kept here, at the top,
so that a later layout change does not move it)."""


def __getattr__(name: str):
    # imported on first use: `import pipelines.cli` must not load torch and the model
    if name == "InferenceModel":
        from pipelines.segment.inference import InferenceModel

        return InferenceModel
    raise AttributeError(f"module 'pipelines' has no attribute {name!r}")
