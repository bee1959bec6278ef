"""autoencoders: train, evaluate and use autoencoders on PyTorch.

    import autoencoders as ae
    run = ae.train("dense", data="mnist", epochs=50, out="runs/dense")
    codes = ae.load_run("runs/dense").encode(images)

Names are imported on first use (PEP 562): `ae --help` and `ae --version` then never import
torch, which is slow to import.
"""

from importlib import import_module

_PUBLIC = {
    "api": ("Run", "load_run", "make_config", "resume", "train"),
    "config": ("DataConfig", "ModelConfig", "RunConfig", "TrainConfig"),
    "errors": ("AutoencodersError", "ConfigError", "DataError", "TrainingError"),
    "registry": ("create_model", "list_models", "register_model"),
}
_HOME = {name: module for module, names in _PUBLIC.items() for name in names}

__all__ = sorted(_HOME)


def __getattr__(name: str):
    if name == "__version__":  # importlib.metadata is slow: only `ae --version` pays for it
        return _version()
    if name not in _HOME:
        raise AttributeError(f"module 'autoencoders' has no attribute {name!r}")
    value = getattr(import_module(f".{_HOME[name]}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("autoencoders")
    except PackageNotFoundError:  # a source tree that was never installed
        return "unknown"
