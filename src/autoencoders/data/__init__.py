"""The data layer: built-in and users' datasets as tensors, fetching with checksums, corruptions.

Importing this package does no work: nothing is downloaded or read until a function is called.
"""

from ..errors import DataError
from .datasets import Dataset, dataset_info, list_datasets, load_dataset
from .noise import Noise, parse_noise
from .sources import cache_dir, fetch

__all__ = [
    "DataError",
    "Dataset",
    "Noise",
    "cache_dir",
    "dataset_info",
    "fetch",
    "list_datasets",
    "load_dataset",
    "parse_noise",
]
