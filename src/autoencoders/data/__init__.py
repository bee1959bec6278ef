"""The data layer: built-in and users' datasets as tensors, fetching with checksums, corruptions.

Importing this package does no work: nothing is downloaded or read until a function is called.
"""

from ..errors import DataError
from .batches import EVAL_BATCH, Batch, Presentation
from .datasets import Split, dataset_info, list_datasets, load_dataset
from .noise import Noise, parse_noise
from .sources import cache_dir, fetch
from .splits import RunData, load_run_data, load_split
from .streams import BatchSource, NpyRows, Resident, Streamed, as_source

__all__ = [
    "EVAL_BATCH",
    "Batch",
    "BatchSource",
    "NpyRows",
    "Presentation",
    "Resident",
    "RunData",
    "Streamed",
    "as_source",
    "load_run_data",
    "load_split",
    "DataError",
    "Split",
    "Noise",
    "cache_dir",
    "dataset_info",
    "fetch",
    "list_datasets",
    "load_dataset",
    "parse_noise",
]
