"""Datasets for ConvLab: the in-memory :class:`Dataset`, synthetic toy
datasets (gray digits and shapes, RGB colour shapes), MNIST-style IDX files,
CIFAR-10's binary batches, folders of images, and downloads of the real sets
(:mod:`.remote`, :mod:`.download`).

Conventions: images are float32 (N, C, H, W) in [0, 1] (before any
normalisation), labels are int64 class indices. Every loader raises
:class:`DatasetError` (a ValueError; IDXError is one) for every problem a
file or a folder can cause, and lists the files it could not use in
``dataset.skipped``.
"""

from .cifar import CIFAR10_CLASSES, CIFARError, load_cifar10_folder, read_cifar_batch
from .colour_shapes import COLOUR_SHAPE_CLASSES, synthetic_colour_shapes
from .dataset import MAX_DATASET_BYTES, Dataset, DatasetError, split_indices
from .digits import DIGIT_CLASSES, synthetic_digits
from .folders import IMAGE_EXTENSIONS, load_image_folder
from .idx import FASHION_CLASSES, KMNIST_CLASSES, MNIST_CLASSES, IDXError, load_mnist_folder, read_idx, write_idx
from .shapes import SHAPE_CLASSES, synthetic_shapes

__all__ = [
    "Dataset",
    "split_indices",
    "synthetic_colour_shapes",
    "CIFARError",
    "read_cifar_batch",
    "load_cifar10_folder",
    "CIFAR10_CLASSES",
    "COLOUR_SHAPE_CLASSES",
    "KMNIST_CLASSES",
    "DatasetError",
    "MAX_DATASET_BYTES",
    "synthetic_digits",
    "synthetic_shapes",
    "IDXError",
    "read_idx",
    "write_idx",
    "load_mnist_folder",
    "load_image_folder",
    "DIGIT_CLASSES",
    "SHAPE_CLASSES",
    "MNIST_CLASSES",
    "FASHION_CLASSES",
    "IMAGE_EXTENSIONS",
]
