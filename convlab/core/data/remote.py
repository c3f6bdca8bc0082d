"""The datasets ConvLab can download (the "remote" ones): where each is published, its files and their SHA-256.

Every file's size and SHA-256 are the ones the publishers' files are known by; they were taken
from tensorflow/datasets' ``tensorflow_datasets/url_checksums/`` (``mnist.txt``,
``fashion_mnist.txt``, ``kmnist.txt``, ``cifar10.txt``), which records them for these exact URLs,
and cross-checked against other public projects that pin the same files. A downloaded file whose
SHA-256 differs is refused and deleted (see :mod:`convlab.core.data.download`).

Mirrors are tried in order; a dataset published in only one place lists one.
"""

from __future__ import annotations

from dataclasses import dataclass

from .cifar import CIFAR10_ARCHIVE, CIFAR10_CLASSES
from .idx import FASHION_CLASSES, KMNIST_CLASSES, MNIST_CLASSES

__all__ = ["RemoteFile", "RemoteDataset", "CATALOG", "remote_dataset"]


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its name on the mirrors (and on disk), its size and SHA-256."""

    name: str
    size: int
    sha256: str


@dataclass(frozen=True)
class RemoteDataset:
    """A dataset that can be downloaded: its files, the mirrors that serve them and how to read them."""

    key: str  # "mnist", also the folder name under the datasets folder
    title: str  # "MNIST"
    description: str
    homepage: str
    licence: str
    mirrors: tuple[str, ...]  # base URLs ending in "/": mirror + file name is the file's URL
    files: tuple[RemoteFile, ...]
    classes: tuple[str, ...]
    reader: str  # "idx" (MNIST family) or "cifar10" (the binary release)
    input_shape: tuple[int, int, int]  # one image: (C, H, W)

    @property
    def total_bytes(self) -> int:
        return sum(f.size for f in self.files)

    def urls(self, file: RemoteFile) -> list[str]:
        return [mirror + file.name for mirror in self.mirrors]

    def files_text(self) -> str:
        """'the four MNIST files (a, b, c, d)' or 'the CIFAR-10 file a', for messages."""
        names = ", ".join(f.name for f in self.files)
        if len(self.files) == 1:
            return f"the {self.title} file {names}"
        count = {2: "two", 3: "three", 4: "four"}.get(len(self.files), str(len(self.files)))
        return f"the {count} {self.title} files ({names})"


def _idx_files(sizes_and_sums: dict[str, tuple[int, str]]) -> tuple[RemoteFile, ...]:
    return tuple(RemoteFile(name, size, sha) for name, (size, sha) in sizes_and_sums.items())


_MNIST = RemoteDataset(
    key="mnist",
    title="MNIST",
    description="70,000 handwritten digits 0-9 (60,000 to train, 10,000 to test), 28x28 gray.",
    homepage="http://yann.lecun.com/exdb/mnist/",
    licence="Yann LeCun and Corinna Cortes hold the copyright; offered under CC BY-SA 3.0",
    mirrors=(
        "https://ossci-datasets.s3.amazonaws.com/mnist/",  # PyTorch's mirror
        "https://storage.googleapis.com/cvdf-datasets/mnist/",  # TensorFlow Datasets' mirror
        "http://yann.lecun.com/exdb/mnist/",  # the original page
    ),
    files=_idx_files({
        "train-images-idx3-ubyte.gz": (9912422, "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609"),
        "train-labels-idx1-ubyte.gz": (28881, "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c"),
        "t10k-images-idx3-ubyte.gz": (1648877, "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6"),
        "t10k-labels-idx1-ubyte.gz": (4542, "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    }),
    classes=tuple(MNIST_CLASSES),
    reader="idx",
    input_shape=(1, 28, 28),
)

_FASHION = RemoteDataset(
    key="fashion",
    title="Fashion-MNIST",
    description="70,000 photos of clothes in 10 classes (T-shirt, trouser, ... ankle boot), 28x28 gray: "
                "MNIST's format, a harder task.",
    homepage="https://github.com/zalandoresearch/fashion-mnist",
    licence="Zalando SE, MIT licence",
    mirrors=(
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",  # Zalando's own
        "https://storage.googleapis.com/tensorflow/tf-keras-datasets/",  # Keras' mirror
    ),
    files=_idx_files({
        "train-images-idx3-ubyte.gz": (26421880, "3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84"),
        "train-labels-idx1-ubyte.gz": (29515, "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845"),
        "t10k-images-idx3-ubyte.gz": (4422102, "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073"),
        "t10k-labels-idx1-ubyte.gz": (5148, "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
    }),
    classes=tuple(FASHION_CLASSES),
    reader="idx",
    input_shape=(1, 28, 28),
)

_KMNIST = RemoteDataset(
    key="kmnist",
    title="KMNIST",
    description="Kuzushiji-MNIST: 70,000 handwritten cursive Japanese characters (10 hiragana), 28x28 gray.",
    homepage="https://github.com/rois-codh/kmnist",
    licence="ROIS-DS Center for Open Data in the Humanities, CC BY-SA 4.0",
    mirrors=("http://codh.rois.ac.jp/kmnist/dataset/kmnist/",),  # the only publisher mirror
    files=_idx_files({
        "train-images-idx3-ubyte.gz": (18165135, "51467d22d8cc72929e2a028a0428f2086b092bb31cfb79c69cc0a90ce135fde4"),
        "train-labels-idx1-ubyte.gz": (29497, "e38f9ebcd0f3ebcdec7fc8eabdcdaef93bb0df8ea12bee65224341c8183d8e17"),
        "t10k-images-idx3-ubyte.gz": (3041136, "edd7a857845ad6bb1d0ba43fe7e794d164fe2dce499a1694695a792adfac43c5"),
        "t10k-labels-idx1-ubyte.gz": (5120, "20bb9a0ef54c7db3efc55a92eef5582c109615df22683c380526788f98e42a1c"),
    }),
    classes=tuple(KMNIST_CLASSES),
    reader="idx",
    input_shape=(1, 28, 28),
)

_CIFAR10 = RemoteDataset(
    key="cifar10",
    title="CIFAR-10",
    description="60,000 small colour photos in 10 classes (airplane, automobile, ... truck), 32x32 RGB; "
                "the binary release (no Python pickles).",
    homepage="https://www.cs.toronto.edu/~kriz/cifar.html",
    licence="Alex Krizhevsky, Vinod Nair and Geoffrey Hinton; free for research and teaching",
    mirrors=("https://www.cs.toronto.edu/~kriz/",),  # the only publisher mirror
    files=(RemoteFile(CIFAR10_ARCHIVE, 170052171, "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd"),),
    classes=tuple(CIFAR10_CLASSES),
    reader="cifar10",
    input_shape=(3, 32, 32),
)

CATALOG: dict[str, RemoteDataset] = {d.key: d for d in (_MNIST, _FASHION, _KMNIST, _CIFAR10)}
"""Every downloadable dataset by key, in menu order."""


def remote_dataset(key: str) -> RemoteDataset:
    """The catalogue entry ``key``; a ValueError lists the known keys."""
    try:
        return CATALOG[key]
    except (KeyError, TypeError):
        raise ValueError(f"no downloadable dataset {key!r} (known: {', '.join(CATALOG)})") from None
